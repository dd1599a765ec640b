package csvimport

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"deadbolt/internal/accounts"
	"deadbolt/internal/audit"
	"deadbolt/internal/deadbolt"
	"deadbolt/internal/password"
	"deadbolt/internal/store/sqlite"
)

// problemsOf renders problems as "line:reason" for comparison.
func problemsOf(ps []Problem) string {
	var out []string
	for _, p := range ps {
		out = append(out, fmt.Sprintf("%d:%s", p.Line, p.Reason))
	}
	return strings.Join(out, " ")
}

func rowsOf(rs []Row) string {
	var out []string
	for _, r := range rs {
		out = append(out, fmt.Sprintf("%d:%s", r.Line, r.Login))
	}
	return strings.Join(out, " ")
}

func TestParseRows(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		rows     string // "line:login …" of the valid rows
		problems string // "line:reason …" of the bad rows
	}{
		{"all good", "login,name,password,admin\nann,Ann A,ann-password,yes\nbob,Bob,,0\n", "2:ann 3:bob", ""},
		{"columns in another order", "Admin, Login ,NAME\ntrue,Ann,Ann A\n", "2:ann", ""},
		{"login only", "login\nann\nbob\n", "2:ann 3:bob", ""},
		{"windows line ends and a byte order mark", "\uFEFFlogin,name\r\nann,Ann\r\nbob,Bob\r\n", "2:ann 3:bob", ""},
		{"no final line break", "login,name\nann,Ann", "2:ann", ""},
		{"empty lines skipped", "login,name\n\nann,Ann\n\n\nbob,Bob\n", "3:ann 6:bob", ""},
		{"quoted field over two lines", "login,name\n\"ann\",\"Ann\nSecond\"\nbob,Bob\n", "4:bob", "2:bad_name"},
		{"login upper case normalised", "login\n  ANN  \n", "2:ann", ""},
		{"bad login", "login,name\n-ann,Ann\nann smith,Ann\n,Nobody\nok,Fine\n", "5:ok", "2:bad_login 3:bad_login 4:bad_login"},
		{"duplicate in file, any case", "login,name\nann,Ann\nbob,Bob\nANN,Ann again\n", "2:ann 3:bob", "4:duplicate_login"},
		{"too few columns", "login,name,password\nann,Ann\nbob,Bob,bob-password\n", "3:bob", "2:wrong_column_count"},
		{"too many columns", "login,name\nann,Ann,extra\n", "", "2:wrong_column_count"},
		{"short password", "login,password\nann,short\nbob,\n", "3:bob", "2:bad_password"},
		{"password with edge spaces", "login,password\nann, ann-password\n", "", "2:bad_password"},
		{"password with a tab", "login,password\nann,\"ann\tpassword\"\n", "", "2:bad_password"},
		{"admin values", "login,admin\na,TRUE\nb,Yes\nc,1\nd,false\ne,NO\nf,0\ng,\nh,maybe\ni,2\n", "2:a 3:b 4:c 5:d 6:e 7:f 8:g", "9:bad_admin 10:bad_admin"},
		{"not UTF-8", "login,name\nann,Ann\nbob,B\xffb\ncat,Cat\n", "2:ann 4:cat", "3:not_utf8"},
		{"email column", "login,email\nann, ann@example.com \nbob,\ncat,cat\ndan,Dan <dan@example.com>\n", "2:ann 3:bob", "4:bad_email 5:bad_email"},
		{"not UTF-8 login", "login\n\xfe\xff\n", "", "2:not_utf8"},
		{"control character in name", "login,name\nann,\"A\x01nn\"\n", "", "2:bad_name"},
		{"long name", "login,name\nann," + strings.Repeat("é", 201) + "\nbob," + strings.Repeat("é", 200) + "\n", "3:bob", "2:bad_name"},
		{"bare quote", "login,name\nann,An\"n\nbob,Bob\n", "3:bob", "2:bad_csv"},
		{"every reason at once", "login,name,password,admin\n" +
			"ok,Ok,,\n" + // 2
			"b@d!,X,,\n" + // 3
			"ok,Again,,\n" + // 4
			"p,P,tiny,\n" + // 5
			"a,A,,perhaps\n" + // 6
			"c,C\n" + // 7
			"u,\xc3\x28,,\n", // 8
			"2:ok", "3:bad_login 4:duplicate_login 5:bad_password 6:bad_admin 7:wrong_column_count 8:not_utf8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse([]byte(tt.in))
			if err != nil {
				t.Fatalf("Parse(%q) = %v", tt.in, err)
			}
			if got := rowsOf(f.Rows); got != tt.rows {
				t.Errorf("Parse(%q) rows = %q, want %q", tt.in, got, tt.rows)
			}
			if got := problemsOf(f.Problems); got != tt.problems {
				t.Errorf("Parse(%q) problems = %q, want %q", tt.in, got, tt.problems)
			}
			if f.Total != len(f.Rows)+len(f.Problems) {
				t.Errorf("Parse(%q) Total = %d, want %d", tt.in, f.Total, len(f.Rows)+len(f.Problems))
			}
			for _, p := range f.Problems {
				if p.Message == "" || !utf8.ValidString(p.Login) || !utf8.ValidString(p.Message) {
					t.Errorf("Parse(%q) problem %+v: want a message and valid text", tt.in, p)
				}
			}
		})
	}
}

func TestParseValues(t *testing.T) {
	f, err := Parse([]byte("login,name,password,admin\n Ann.Lee , Ann Lee ,s3cret-pass word,Yes\nbob,,,\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Row{
		{Line: 2, Login: "ann.lee", Name: "Ann Lee", Password: "s3cret-pass word", Admin: true},
		{Line: 3, Login: "bob"},
	}
	if len(f.Rows) != len(want) {
		t.Fatalf("Parse rows = %+v, want %+v", f.Rows, want)
	}
	for i := range want {
		if f.Rows[i] != want[i] {
			t.Errorf("Parse row %d = %+v, want %+v", i, f.Rows[i], want[i])
		}
	}
	if strings.Join(f.Columns, ",") != "login,name,password,admin" {
		t.Errorf("Parse columns = %q", f.Columns)
	}
}

func TestParseFileErrors(t *testing.T) {
	many := "login\n" + strings.Repeat("x\n", MaxRows+1)
	tests := []struct {
		name, in, want string // want: a word of the message
		code           deadbolt.Code
	}{
		{"empty", "", "empty", deadbolt.CodeInvalidInput},
		{"only a byte order mark", "\uFEFF", "empty", deadbolt.CodeInvalidInput},
		{"only empty lines", "\n\n\n", "empty", deadbolt.CodeInvalidInput},
		{"no login column", "name,password\nAnn,ann-password\n", "login column", deadbolt.CodeInvalidInput},
		{"unknown column", "login,phone\nann,+33612345678\n", "phone", deadbolt.CodeInvalidInput},
		{"header is a data row", "ann,Ann,ann-password,no\n", "ann", deadbolt.CodeInvalidInput},
		{"repeated column", "login,name,Login\nann,Ann,ann\n", "twice", deadbolt.CodeInvalidInput},
		{"bad header CSV", "login,\"name\n", "header", deadbolt.CodeInvalidInput},
		{"too many rows", many, fmt.Sprint(MaxRows), deadbolt.CodeInvalidInput},
		{"too large", "login\n" + strings.Repeat("a", MaxBytes), "larger", deadbolt.CodeTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse([]byte(tt.in))
			if deadbolt.ErrorCode(err) != tt.code || f != nil {
				t.Fatalf("Parse(%.40q) = %v, %v, want %s", tt.in, f, err, tt.code)
			}
			if msg := deadbolt.ErrorMessage(err); !strings.Contains(msg, tt.want) {
				t.Errorf("Parse(%.40q) message = %q, want it to mention %q", tt.in, msg, tt.want)
			}
		})
	}
	// Exactly MaxRows rows are fine.
	var b strings.Builder
	b.WriteString("login\n")
	for i := range MaxRows {
		fmt.Fprintf(&b, "u%d\n", i)
	}
	if f, err := Parse([]byte(b.String())); err != nil || len(f.Rows) != MaxRows {
		t.Errorf("Parse(%d rows) = %v, want all rows", MaxRows, err)
	}
}

func TestParseTruncatesProblems(t *testing.T) {
	var b strings.Builder
	b.WriteString("login,admin\n")
	for i := range MaxProblems + 10 {
		fmt.Fprintf(&b, "u%d,maybe\n", i)
	}
	f, err := Parse([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Problems) != MaxProblems || !f.Truncated || f.Total != MaxProblems+10 {
		t.Errorf("Parse: %d problems, truncated %v, total %d; want %d, true, %d", len(f.Problems), f.Truncated, f.Total, MaxProblems, MaxProblems+10)
	}
}

func TestParseBool(t *testing.T) {
	tests := []struct {
		in    string
		v, ok bool
	}{
		{"true", true, true}, {"Yes", true, true}, {" 1 ", true, true},
		{"FALSE", false, true}, {"no", false, true}, {"0", false, true}, {"", false, true},
		{"y", false, false}, {"on", false, false}, {"10", false, false}, {"tru", false, false},
	}
	for _, tt := range tests {
		if v, ok := ParseBool(tt.in); v != tt.v || ok != tt.ok {
			t.Errorf("ParseBool(%q) = %v, %v, want %v, %v", tt.in, v, ok, tt.v, tt.ok)
		}
	}
}

// FuzzParse: Parse never panics; it either refuses the file or accounts
// for every data row once, with valid logins, unique in the file, and
// problems in line order.
func FuzzParse(f *testing.F) {
	f.Add([]byte("login,name,password,admin\nann,Ann,ann-password,yes\n"))
	f.Add([]byte("login\nann\nANN\n"))
	f.Add([]byte("login,name\n\"a\nb\",c\nx,\"y\n"))
	f.Add([]byte("\uFEFFadmin,login\r\n1,\xff\r\n"))
	f.Add([]byte("login,password\nbob,\"  spaced  \"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			if c := deadbolt.ErrorCode(err); c != deadbolt.CodeInvalidInput && c != deadbolt.CodeTooLarge {
				t.Fatalf("Parse(%q) = %v, want invalid_input or request_too_large", data, err)
			}
			return
		}
		if !file.Truncated && file.Total != len(file.Rows)+len(file.Problems) {
			t.Fatalf("Parse(%q): total %d, %d rows, %d problems", data, file.Total, len(file.Rows), len(file.Problems))
		}
		seen := map[string]bool{}
		last := 0
		for _, r := range file.Rows {
			if accounts.ValidateLogin(r.Login) != nil || seen[r.Login] || r.Line <= last {
				t.Fatalf("Parse(%q): bad row %+v", data, r)
			}
			if r.Password != "" && password.Validate(r.Password) != nil {
				t.Fatalf("Parse(%q): row %+v with a bad password", data, r)
			}
			seen[r.Login], last = true, r.Line
		}
		last = 0
		for _, p := range file.Problems {
			if p.Line < 2 || p.Line < last || p.Message == "" || !utf8.ValidString(p.Login) {
				t.Fatalf("Parse(%q): bad problem %+v", data, p)
			}
			last = p.Line
		}
	})
}

// fixture is an accounts service over a real SQLite store.
type fixture struct {
	st    *sqlite.Store
	svc   *accounts.Service
	admin accounts.Actor
}

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "t.db"), true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clock := deadbolt.NewFixedClock(t0)
	hasher := password.New(password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 4)
	svc := accounts.New(st, hasher, audit.New(st, clock, slog.New(slog.DiscardHandler)), clock, nil)
	boss, err := svc.Create(ctx, accounts.Actor{}, accounts.NewUser{Login: "boss", Password: "boss-password", Admin: true})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{st: st, svc: svc, admin: accounts.Actor{User: boss, IP: "192.0.2.1"}}
}

func (fx *fixture) logins(t *testing.T) string {
	t.Helper()
	us, err := fx.svc.List(context.Background(), fx.admin)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, u := range us {
		out = append(out, u.Login)
	}
	return strings.Join(out, " ")
}

func (fx *fixture) created(t *testing.T) int {
	t.Helper()
	es, err := fx.st.Events(context.Background(), deadbolt.EventFilter{Type: deadbolt.EventAdminUserCreated})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range es {
		if e.ActorID == fx.admin.User.ID {
			n++
		}
	}
	return n
}

func TestImportDryRun(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	in := "login,name,password,admin\nann,Ann,,no\nBOSS,Taken,,\nbob,Bob,bob-password,yes\nbob,Bob again,,\n"
	rep, err := Import(ctx, fx.svc, fx.admin, []byte(in), true)
	if err != nil {
		t.Fatal(err)
	}
	if got := problemsOf(rep.Problems); got != "3:login_taken 5:duplicate_login" {
		t.Errorf("Import(dry run) problems = %q, want the taken and duplicate logins", got)
	}
	if got := rowsOf(rep.Rows); got != "2:ann 4:bob" || rep.OK() || !rep.DryRun || len(rep.Created) != 0 {
		t.Errorf("Import(dry run) = rows %q, ok %v, dry %v, created %v", got, rep.OK(), rep.DryRun, rep.Created)
	}
	if got := fx.logins(t); got != "boss" {
		t.Errorf("after a dry run the accounts are %q, want boss alone", got)
	}
	// A clean dry run still creates nothing.
	rep, err = Import(ctx, fx.svc, fx.admin, []byte("login\nann\n"), true)
	if err != nil || !rep.OK() || len(rep.Created) != 0 {
		t.Fatalf("Import(clean dry run) = %+v, %v", rep, err)
	}
	if got := fx.logins(t); got != "boss" {
		t.Errorf("after a clean dry run the accounts are %q, want boss alone", got)
	}
}

func TestImportAllOrNothing(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	bad := "login,name,password,admin\nann,Ann,,\nbob,Bob,short,\n"
	rep, err := Import(ctx, fx.svc, fx.admin, []byte(bad), false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || len(rep.Created) != 0 || problemsOf(rep.Problems) != "3:bad_password" {
		t.Errorf("Import(bad row) = ok %v, created %v, problems %q; want nothing created", rep.OK(), rep.Created, problemsOf(rep.Problems))
	}
	if got := fx.logins(t); got != "boss" {
		t.Errorf("a file with a bad row created accounts: %q", got)
	}
}

func TestImportCreates(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	var b strings.Builder
	b.WriteString("login,name,password,admin\n")
	b.WriteString("ann,Ann Lee,ann-password,yes\n")
	for i := range 9 {
		fmt.Fprintf(&b, "user%d,User %d,,\n", i, i)
	}
	rep, err := Import(ctx, fx.svc, fx.admin, []byte(b.String()), false)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || len(rep.Created) != 10 || rep.Err != nil {
		t.Fatalf("Import = ok %v, %d created, problems %q, err %v; want 10 created", rep.OK(), len(rep.Created), problemsOf(rep.Problems), rep.Err)
	}
	for i, c := range rep.Created {
		if c.Line != i+2 {
			t.Errorf("created[%d] on line %d, want %d (file order)", i, c.Line, i+2)
		}
		u, err := fx.svc.Get(ctx, fx.admin, c.Login)
		if err != nil {
			t.Fatalf("created %s: %v", c.Login, err)
		}
		if u.ID != c.ID || u.Admin != c.Admin || !u.Active {
			t.Errorf("created %+v, stored %+v", c, u)
		}
		pw := c.Password
		if c.Login == "ann" {
			if pw != "" || !u.Admin || u.Name != "Ann Lee" {
				t.Errorf("ann = %+v (generated %q), want the file's password, name and admin", u, pw)
			}
			pw = "ann-password"
		} else if len(pw) != 20 || u.Admin {
			t.Errorf("%s: generated password %q, admin %v; want 20 characters and no admin", c.Login, pw, u.Admin)
		}
		h := password.New(password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 1)
		if ok, _, err := h.Verify(ctx, pw, u.PasswordHash); !ok || err != nil {
			t.Errorf("%s: the reported password does not match the stored hash (%v)", c.Login, err)
		}
	}
	if n := fx.created(t); n != 10 {
		t.Errorf("%d creation events by the administrator, want 10", n)
	}
	// The same file again: every login is now taken.
	rep, err = Import(ctx, fx.svc, fx.admin, []byte(b.String()), false)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) != 10 || len(rep.Created) != 0 || rep.Problems[0].Reason != ReasonLoginTaken {
		t.Errorf("Import again = %d problems (%q), %d created; want 10 logins taken", len(rep.Problems), problemsOf(rep.Problems), len(rep.Created))
	}
}

func TestImportRefusesNonAdministrator(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	emp, err := fx.svc.Create(ctx, fx.admin, accounts.NewUser{Login: "emp", Password: "emp-password"})
	if err != nil {
		t.Fatal(err)
	}
	for _, dry := range []bool{true, false} {
		rep, err := Import(ctx, fx.svc, accounts.Actor{User: emp}, []byte("login\nboss\nzed\n"), dry)
		if deadbolt.ErrorCode(err) != deadbolt.CodeForbidden || rep != nil {
			t.Errorf("Import(dry %v) by an employee = %v, %v, want forbidden", dry, rep, err)
		}
	}
	if got := fx.logins(t); got != "boss emp" {
		t.Errorf("accounts = %q, want boss emp", got)
	}
}
