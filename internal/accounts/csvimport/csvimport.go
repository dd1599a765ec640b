// Package csvimport creates employees in bulk from a CSV file an
// administrator uploads (or passes to "deadbolt admin user import").
//
// The file has a header row naming its columns — login (required), name,
// password and admin, in any order and letter case — and one employee per
// row. An empty password is generated (and reported once); admin is
// true/false, yes/no or 1/0, empty meaning false.
//
// Every row is checked before anything is created, and every bad row is
// reported with its line number and reason. A real import creates the rows
// only when no row is bad: all or nothing. Parse is a pure function of the
// file's bytes; Import adds the checks that need the accounts (a login
// already taken) and the creation itself, through accounts.Service, so
// every creation is checked against the acting administrator and audited.
package csvimport

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"deadbolt/internal/accounts"
	"deadbolt/internal/deadbolt"
	"deadbolt/internal/password"
)

// Limits of one import.
const (
	// MaxBytes is the largest file accepted.
	MaxBytes = 1 << 20
	// MaxRows is the most employee rows one file may hold; larger lists
	// are split into several files.
	MaxRows = 1000
	// MaxProblems is the most bad rows reported; a file with more is
	// reported as cut short.
	MaxProblems = 500
	// maxNameLen mirrors the name rule of accounts.Service.Create.
	maxNameLen = 200
)

// Column names of the header row.
const (
	ColLogin    = "login"
	ColName     = "name"
	ColPassword = "password"
	ColAdmin    = "admin"
	ColEmail    = "email"
)

// Reason says why a row is bad. Values are stable snake_case words.
type Reason string

// The reasons a row can be refused.
const (
	ReasonNotUTF8     Reason = "not_utf8"
	ReasonColumns     Reason = "wrong_column_count"
	ReasonSyntax      Reason = "bad_csv"
	ReasonBadLogin    Reason = "bad_login"
	ReasonDuplicate   Reason = "duplicate_login"
	ReasonLoginTaken  Reason = "login_taken"
	ReasonBadName     Reason = "bad_name"
	ReasonBadPassword Reason = "bad_password"
	ReasonBadAdmin    Reason = "bad_admin"
	ReasonBadEmail    Reason = "bad_email"
	// ReasonNotCreated is a valid row whose creation failed in a real
	// import (a login taken meanwhile, a database error).
	ReasonNotCreated Reason = "not_created"
)

// Row is one valid employee row.
type Row struct {
	// Line is the row's line number in the file, counting the header as
	// line 1.
	Line int
	// Login is the normalised (lower-case) login.
	Login string
	Name  string
	// Email is "" for none.
	Email string
	// Password is empty when one is to be generated.
	Password string
	Admin    bool
}

// Problem is one bad row.
type Problem struct {
	Line int
	// Login is the login as written in the row, possibly empty or not
	// valid text (shown escaped).
	Login   string
	Reason  Reason
	Message string
	// Words are Message before formatting, for translation.
	Words deadbolt.Words
}

// File is a parsed import file.
type File struct {
	// Columns are the header's column names, lower-case, in file order.
	Columns []string
	// Rows are the valid rows, in file order.
	Rows []Row
	// Problems are the bad rows, in file order.
	Problems []Problem
	// Truncated is set when more than MaxProblems rows were bad; the
	// rest were not reported.
	Truncated bool
	// Total is the number of data rows read, good and bad.
	Total int
}

func (f *File) problem(line int, login string, reason Reason, format string, args ...any) {
	if len(f.Problems) >= MaxProblems {
		f.Truncated = true
		return
	}
	if !utf8.ValidString(login) {
		login = strings.ToValidUTF8(login, "\uFFFD")
	}
	w := deadbolt.Phrase(format, args...)
	f.Problems = append(f.Problems, Problem{Line: line, Login: login, Reason: reason, Message: w.String(), Words: w})
}

func fileError(format string, args ...any) *deadbolt.Error {
	return deadbolt.Errorf(deadbolt.CodeInvalidInput, format, args...)
}

// Parse reads an import file and checks every row's shape: the column
// count, the login (its form, and duplicates within the file), the name,
// the password and the admin value. It does not look at existing accounts.
//
// A problem with the file as a whole is a *deadbolt.Error: with
// deadbolt.CodeTooLarge for a file larger than MaxBytes, with
// deadbolt.CodeInvalidInput for one that is empty, has a header that
// does not name the login column or names an unknown or repeated column,
// or more than MaxRows rows. Bad rows are not errors: they are listed in
// File.Problems. Parse is safe for concurrent use.
func Parse(data []byte) (*File, error) {
	if len(data) > MaxBytes {
		return nil, deadbolt.Errorf(deadbolt.CodeTooLarge, "The file is larger than %d KiB. Split it into smaller files.", MaxBytes>>10)
	}
	data = bytes.TrimPrefix(data, []byte("\uFEFF")) // a byte order mark some editors write
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.ReuseRecord = true

	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, fileError("The file is empty. The first line must name the columns, such as login,name,password,admin.")
	}
	if err != nil {
		return nil, fileError("The header line cannot be read as CSV: %s.", csvMessage(err))
	}
	cols, err := parseHeader(header)
	if err != nil {
		return nil, err
	}
	f := &File{Columns: cols}
	index := map[string]int{}
	for i, c := range cols {
		index[c] = i
	}
	seen := map[string]int{} // normalised login → line
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if f.Total == MaxRows {
			return nil, fileError("The file has more than %d employees. Split it into smaller files.", MaxRows)
		}
		f.Total++
		if err != nil {
			var pe *csv.ParseError
			line := 0
			if errors.As(err, &pe) {
				line = pe.StartLine
			}
			if line == 0 {
				return nil, fileError("The file cannot be read as CSV: %s.", csvMessage(err))
			}
			f.problem(line, "", ReasonSyntax, "This line is not valid CSV: %s.", csvMessage(err))
			continue
		}
		line, _ := r.FieldPos(0)
		f.check(line, rec, cols, index, seen)
	}
	return f, nil
}

// parseHeader reads the header's column names.
func parseHeader(header []string) ([]string, error) {
	known := []string{ColLogin, ColName, ColEmail, ColPassword, ColAdmin}
	cols := make([]string, len(header))
	for i, h := range header {
		c := strings.ToLower(strings.TrimSpace(h))
		if !utf8.ValidString(c) || !slices.Contains(known, c) {
			return nil, fileError("The first line must name the columns: login, name, email, password, admin (column %d is %q).", i+1, strings.ToValidUTF8(h, "\uFFFD"))
		}
		if slices.Contains(cols[:i], c) {
			return nil, fileError("The first line names the column %q twice.", c)
		}
		cols[i] = c
	}
	if !slices.Contains(cols, ColLogin) {
		return nil, fileError("The first line must name a login column, such as login,name,password,admin.")
	}
	return cols, nil
}

// check validates one data row and records it as a Row or a Problem.
func (f *File) check(line int, rec, cols []string, index map[string]int, seen map[string]int) {
	field := func(c string) string {
		if i, ok := index[c]; ok && i < len(rec) {
			return rec[i]
		}
		return ""
	}
	rawLogin := strings.TrimSpace(field(ColLogin))
	for _, v := range rec {
		if !utf8.ValidString(v) {
			f.problem(line, rawLogin, ReasonNotUTF8, "The line is not valid UTF-8 text. Save the file as UTF-8.")
			return
		}
	}
	if len(rec) != len(cols) {
		f.problem(line, rawLogin, ReasonColumns, "The line has %d columns; the header has %d.", len(rec), len(cols))
		return
	}
	login := deadbolt.NormalizeLogin(rawLogin)
	if err := accounts.ValidateLogin(login); err != nil {
		f.problem(line, rawLogin, ReasonBadLogin, "%s", deadbolt.ErrorWords(err))
		return
	}
	if first, ok := seen[login]; ok {
		f.problem(line, rawLogin, ReasonDuplicate, "The login %s is already on line %d of this file.", login, first)
		return
	}
	seen[login] = line
	name := strings.TrimSpace(field(ColName))
	if utf8.RuneCountInString(name) > maxNameLen || strings.IndexFunc(name, unicode.IsControl) >= 0 {
		f.problem(line, rawLogin, ReasonBadName, "A name is at most %d characters, without control characters.", maxNameLen)
		return
	}
	email, err := accounts.ValidateEmail(field(ColEmail))
	if err != nil {
		f.problem(line, rawLogin, ReasonBadEmail, "%s", deadbolt.ErrorWords(err))
		return
	}
	pw := field(ColPassword)
	if pw != "" {
		if strings.TrimSpace(pw) != pw {
			f.problem(line, rawLogin, ReasonBadPassword, "The password starts or ends with a space. Remove the space, or leave the password empty to have one generated.")
			return
		}
		if err := password.Validate(pw); err != nil {
			f.problem(line, rawLogin, ReasonBadPassword, "%s", password.Explain(err))
			return
		}
	}
	admin, ok := ParseBool(field(ColAdmin))
	if !ok {
		f.problem(line, rawLogin, ReasonBadAdmin, "admin must be true or false, yes or no, 1 or 0 (or empty for no).")
		return
	}
	f.Rows = append(f.Rows, Row{Line: line, Login: login, Name: name, Email: email, Password: pw, Admin: admin})
}

// ParseBool reads an admin value: true/yes/1 or false/no/0 in any letter
// case, around spaces; empty means false. ok is false for anything else.
// It is safe for concurrent use.
func ParseBool(s string) (v, ok bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "1":
		return true, true
	case "false", "no", "0", "":
		return false, true
	}
	return false, false
}

// csvMessage is the part of a CSV error a person can act on, without the
// line numbers (reported apart).
func csvMessage(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// Created is one employee a real import created.
type Created struct {
	Line  int
	ID    string
	Login string
	// Password is the generated password, shown once; empty when the file
	// gave one.
	Password string
	Admin    bool
}

// Report is the outcome of Import.
type Report struct {
	*File
	// DryRun is set when nothing was to be created.
	DryRun bool
	// Created are the employees created, in file order; empty on a dry
	// run and whenever a row was bad.
	Created []Created
	// Err is the first unexpected error met while creating (its public
	// side is among Problems), for the caller's log; nil otherwise.
	Err error
}

// OK reports whether every row was valid (and, on a real import, created).
func (r *Report) OK() bool { return len(r.Problems) == 0 && !r.Truncated }

// workers is how many employees a real import creates at once; the
// password hasher bounds the memory they use.
const workers = 4

// Import reads an import file, checks every row — Parse's checks, then
// whether each login is already taken — and, unless dryRun is set or some
// row is bad, creates every row through svc on behalf of actor (each
// creation audited there). Generated passwords are returned in the report,
// once.
//
// The checks all come first, so a file with a bad row creates nothing. A
// row can still fail while creating (another administrator took its login
// in the meantime): the rows created stay, the rows not yet created are
// not created, and the report lists the failure as ReasonNotCreated. Once
// creation has started it runs to the end even if ctx is cancelled, so a
// closed browser does not cut an import in half.
//
// Errors: the file errors of Parse; deadbolt.CodeForbidden when actor is
// not an administrator; store errors. Import is safe for concurrent use.
func Import(ctx context.Context, svc *accounts.Service, actor accounts.Actor, data []byte, dryRun bool) (*Report, error) {
	f, err := Parse(data)
	if err != nil {
		return nil, err
	}
	// List checks the role, so a non-administrator learns nothing about
	// logins.
	users, err := svc.List(ctx, actor)
	if err != nil {
		return nil, err
	}
	taken := make(map[string]bool, len(users))
	for _, u := range users {
		taken[u.Login] = true
	}
	rep := &Report{File: f, DryRun: dryRun}
	valid := f.Rows[:0:0]
	for _, row := range f.Rows {
		if taken[row.Login] {
			f.problem(row.Line, row.Login, ReasonLoginTaken, "An account with the login %s already exists.", row.Login)
			continue
		}
		valid = append(valid, row)
	}
	f.Rows = valid
	sortProblems(f.Problems)
	if dryRun || !rep.OK() {
		return rep, nil
	}
	rep.Created, rep.Err = create(context.WithoutCancel(ctx), svc, actor, f)
	sortProblems(f.Problems)
	return rep, nil
}

// create creates the rows of f with a few workers, stopping at the first
// failure. Failures become problems of f; the first unexpected one is also
// returned.
func create(ctx context.Context, svc *accounts.Service, actor accounts.Actor, f *File) ([]Created, error) {
	var (
		mu      sync.Mutex
		next    int
		stop    bool
		created []Created
		fatal   error
		wg      sync.WaitGroup
	)
	for range min(workers, len(f.Rows)) {
		wg.Go(func() {
			for {
				mu.Lock()
				if stop || next == len(f.Rows) {
					mu.Unlock()
					return
				}
				row := f.Rows[next]
				next++
				mu.Unlock()

				pw, generated := row.Password, ""
				if pw == "" {
					pw = accounts.GeneratePassword()
					generated = pw
				}
				u, err := svc.Create(ctx, actor, accounts.NewUser{Login: row.Login, Name: row.Name, Email: row.Email, Password: pw, Admin: row.Admin})

				mu.Lock()
				if err != nil {
					stop = true
					code := deadbolt.ErrorCode(err)
					if code == deadbolt.CodeInternal && fatal == nil {
						fatal = err
					}
					f.problem(row.Line, row.Login, ReasonNotCreated, "Not created: %s", deadbolt.ErrorWords(err))
				} else {
					created = append(created, Created{Line: row.Line, ID: u.ID, Login: u.Login, Password: generated, Admin: u.Admin})
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.SortFunc(created, func(a, b Created) int { return a.Line - b.Line })
	return created, fatal
}

func sortProblems(p []Problem) {
	slices.SortStableFunc(p, func(a, b Problem) int { return a.Line - b.Line })
}
