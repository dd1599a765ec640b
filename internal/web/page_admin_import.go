package web

import (
	"errors"
	"io"
	"net/http"

	"deadbolt/internal/accounts/csvimport"
	"deadbolt/internal/deadbolt"
	"deadbolt/internal/signin"
)

type importProblem struct {
	Line                   int
	Login, Reason, Message string
}

type importView struct {
	consoleBase
	MaxKiB, MaxRows int
	// The outcome of an upload; Done is false on the empty form.
	Done       bool
	DryRun     bool
	FileName   string
	Total      int
	Valid      int
	Problems   []importProblem
	Truncated  bool
	Created    []csvimport.Created
	Generated  bool
	NotCreated int
}

func (s *server) importPage(w http.ResponseWriter, r *http.Request, a *signin.Auth, status int, errMsg string, v *importView) {
	if v == nil {
		v = &importView{DryRun: true}
	}
	v.consoleBase = s.consoleBase(r, "/admin/import")
	v.MaxKiB, v.MaxRows = csvimport.MaxBytes>>10, csvimport.MaxRows
	s.render(w, r, status, "admin_import", &pageData{Title: tr(r).T("console.title", "page", tr(r).T("import.title")), User: a.User, Console: v, Error: errMsg})
}

func (s *server) pageAdminImport(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	s.importPage(w, r, a, http.StatusOK, "", nil)
}

// importSlack is room for the multipart envelope and the other fields
// around the file.
const importSlack = 64 << 10

// pageAdminImportSubmit reads the uploaded CSV file and checks it (dry
// run) or imports it, all or nothing.
func (s *server) pageAdminImportSubmit(w http.ResponseWriter, r *http.Request, a *signin.Auth) {
	dryForm := &importView{DryRun: true}
	fail := func(err error) {
		s.consoleFailed(w, r, err, func(status int, m string) { s.importPage(w, r, a, status, m, dryForm) })
	}
	r.Body = http.MaxBytesReader(w, r.Body, csvimport.MaxBytes+importSlack)
	if err := r.ParseMultipartForm(csvimport.MaxBytes + importSlack); err != nil {
		if tooLarge := new(http.MaxBytesError); errors.As(err, &tooLarge) {
			fail(deadbolt.Errorf(deadbolt.CodeTooLarge, "The file is larger than %d KiB. Split it into smaller files.", csvimport.MaxBytes>>10))
			return
		}
		fail(deadbolt.Errorf(deadbolt.CodeBadRequest, "Choose a CSV file to upload."))
		return
	}
	defer r.MultipartForm.RemoveAll()
	dry := r.PostFormValue("dry_run") == "1"
	dryForm.DryRun = dry
	file, hdr, err := r.FormFile("file")
	if err != nil {
		fail(deadbolt.Errorf(deadbolt.CodeInvalidInput, "Choose a CSV file to upload."))
		return
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, csvimport.MaxBytes+1))
	if err != nil {
		fail(err)
		return
	}
	rep, err := csvimport.Import(r.Context(), s.Accounts, s.actor(r, a), data, dry)
	if err != nil {
		fail(err)
		return
	}
	if rep.Err != nil {
		s.log.ErrorContext(r.Context(), "import employees", "err", rep.Err, "created", len(rep.Created))
	}
	v := &importView{Done: true, DryRun: dry, FileName: hdr.Filename, Total: rep.Total, Valid: len(rep.Rows),
		Truncated: rep.Truncated, Created: rep.Created}
	for _, p := range rep.Problems {
		v.Problems = append(v.Problems, importProblem{Line: p.Line, Login: p.Login, Reason: tr(r).T("import.reason." + string(p.Reason)), Message: tr(r).Words(p.Words)})
	}
	for _, c := range rep.Created {
		v.Generated = v.Generated || c.Password != ""
	}
	if !dry && len(rep.Created) > 0 {
		v.NotCreated = len(rep.Rows) - len(rep.Created)
	}
	status := http.StatusOK
	if !rep.OK() {
		status = http.StatusUnprocessableEntity
	}
	s.importPage(w, r, a, status, "", v)
}
