// Package i18n says Deadbolt's words in the employee's language: message
// catalogues (one JSON file per language under locales/), CLDR plural
// rules, dates and durations in each language's way, the translation of
// error messages, and the choice of language from a saved preference or a
// browser's Accept-Language.
//
// # Adding a string
//
// Pages, the companion app, SMS texts and notices use keys. To add one,
// put the key with its English text in locales/en.json and with its
// Russian text in locales/ru.json (and in every other file there), then use
// it: {{t "key" "name" value}} in a template, Locale.T in Go, t("key") in
// the companion app (keys starting with "app."), or a data-i18n attribute
// set by the page for page scripts (keys starting with "js."). Arguments
// are named and appear in the text as {name}. A text that depends on a
// number is an object of CLDR plural forms chosen by the argument n:
// {"one": "{n} code", "other": "{n} codes"} in English, one/few/many/other
// in Russian. Texts may hold simple markup (<strong>, <code>, <a href>);
// arguments are always escaped, and every translation must keep the
// markup of the English text.
//
// Error messages are written in English where the error is made, with
// deadbolt.Errorf (or deadbolt.Phrase for a sentence that goes into one);
// their translations sit in the "errors" section of each file other than
// English, keyed by the English format, with the same fmt verbs (they may
// be reordered as %[2]s). TestCatalogues fails when a key or a
// translation is missing, left over, or does not match its English text,
// and TestErrorMessagesTranslated when a message in the source has no
// translation.
package i18n

import (
	"cmp"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"html"
	"html/template"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"

	"deadbolt/internal/deadbolt"
)

//go:embed locales/*.json
var localeFS embed.FS

// Default is the language of the source texts, used when nothing else is
// known.
const Default = "en"

// Locale is one language of the catalogue: its texts, plural rules and
// formats. It is immutable and safe for concurrent use.
type Locale struct {
	code string
	name string
	tag  language.Tag
	// messages are the texts by key.
	messages map[string]message
	// errors are the translations of English error formats (empty for
	// English).
	errors map[string]message
	// dates are the words dates are made of.
	months    []string
	dayLayout string
}

// message is one text: a plain one, or plural forms by CLDR category.
type message struct {
	text  string
	forms map[string]string
}

// file is the JSON form of a catalogue file.
type file struct {
	Name     string                     `json:"name"`
	Months   []string                   `json:"months"`
	Date     string                     `json:"date"`
	Messages map[string]json.RawMessage `json:"messages"`
	Errors   map[string]json.RawMessage `json:"errors"`
}

var (
	locales = map[string]*Locale{}
	// order lists the languages: English first, then by code.
	order []*Locale
)

func init() {
	names, err := fs.Glob(localeFS, "locales/*.json")
	if err != nil {
		panic(err)
	}
	for _, n := range names {
		b, err := localeFS.ReadFile(n)
		if err != nil {
			panic(err)
		}
		l, err := parseLocale(strings.TrimSuffix(path.Base(n), ".json"), b)
		if err != nil {
			panic(fmt.Sprintf("i18n: %s: %v", n, err))
		}
		locales[l.code] = l
		order = append(order, l)
	}
	sort.Slice(order, func(i, j int) bool {
		if (order[i].code == Default) != (order[j].code == Default) {
			return order[i].code == Default
		}
		return order[i].code < order[j].code
	})
	if locales[Default] == nil {
		panic("i18n: no English catalogue")
	}
}

func parseLocale(code string, b []byte) (*Locale, error) {
	var f file
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, err
	}
	tag, err := language.Parse(code)
	if err != nil {
		return nil, err
	}
	if len(f.Months) != 12 {
		return nil, fmt.Errorf("months: %d names, want 12", len(f.Months))
	}
	l := &Locale{code: code, name: f.Name, tag: tag, months: f.Months, dayLayout: f.Date,
		messages: map[string]message{}, errors: map[string]message{}}
	for k, raw := range f.Messages {
		m, err := parseMessage(raw)
		if err != nil {
			return nil, fmt.Errorf("message %q: %v", k, err)
		}
		l.messages[k] = m
	}
	for k, raw := range f.Errors {
		m, err := parseMessage(raw)
		if err != nil {
			return nil, fmt.Errorf("error %q: %v", k, err)
		}
		l.errors[k] = m
	}
	return l, nil
}

func parseMessage(raw json.RawMessage) (message, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return message{text: s}, nil
	}
	var forms map[string]string
	if err := json.Unmarshal(raw, &forms); err != nil {
		return message{}, fmt.Errorf("neither a text nor plural forms")
	}
	for k := range forms {
		if !slices.Contains(pluralNames, k) {
			return message{}, fmt.Errorf("unknown plural form %q", k)
		}
	}
	if forms["other"] == "" {
		return message{}, fmt.Errorf("plural forms without \"other\"")
	}
	return message{forms: forms}, nil
}

// pluralNames are the CLDR plural categories.
var pluralNames = []string{"zero", "one", "two", "few", "many", "other"}

// Languages lists every language of the catalogue, English first. The
// slice is a copy.
func Languages() []*Locale { return slices.Clone(order) }

// Get returns the language with code ("en", "ru"), or nil when the
// catalogue has none.
func Get(code string) *Locale { return locales[code] }

// English returns the English locale.
func English() *Locale { return locales[Default] }

// Code returns the language's code, as in <html lang>.
func (l *Locale) Code() string { return l.code }

// Name returns the language's name in itself ("English", "Русский").
func (l *Locale) Name() string { return l.name }

// Has reports whether the catalogue has a text for key.
func (l *Locale) Has(key string) bool { _, ok := l.messages[key]; return ok }

// form returns the CLDR plural category of the integer n in l.
func (l *Locale) form(n int) string {
	if n < 0 {
		n = -n
	}
	switch plural.Cardinal.MatchPlural(l.tag, n%10000000, 0, 0, 0, 0) {
	case plural.Zero:
		return "zero"
	case plural.One:
		return "one"
	case plural.Two:
		return "two"
	case plural.Few:
		return "few"
	case plural.Many:
		return "many"
	}
	return "other"
}

// PluralForm returns the CLDR plural category ("one", "few", …) of n in l.
func (l *Locale) PluralForm(n int) string { return l.form(n) }

// pick returns the text of m for the arguments: the plural form chosen by
// n when m has forms.
func (l *Locale) pick(m message, n int, hasN bool) string {
	if m.forms == nil {
		return m.text
	}
	if hasN {
		if s, ok := m.forms[l.form(n)]; ok {
			return s
		}
	}
	return m.forms["other"]
}

// lookup finds key in l, then in English; ok is false when neither has it.
func (l *Locale) lookup(key string) (message, bool) {
	if m, ok := l.messages[key]; ok {
		return m, true
	}
	m, ok := locales[Default].messages[key]
	return m, ok
}

var placeholder = regexp.MustCompile(`\{([a-zA-Z][a-zA-Z0-9_]*)\}`)

// T returns the text of key with its {name} placeholders replaced by the
// arguments, given as name, value pairs; n chooses the plural form. A key
// l lacks is taken from English; an unknown key returns the key itself in
// brackets, which tests catch. Values are printed as with fmt's %v; ints
// without separators. T never escapes: for pages use HTML.
func (l *Locale) T(key string, args ...any) string {
	return l.expand(key, args, func(s string) string { return s })
}

// HTML is T for a page: the text's own markup is kept and every argument
// is escaped, unless it is already template.HTML.
func (l *Locale) HTML(key string, args ...any) template.HTML {
	return template.HTML(l.expand(key, args, html.EscapeString))
}

func (l *Locale) expand(key string, args []any, esc func(string) string) string {
	m, ok := l.lookup(key)
	if !ok {
		return "[" + key + "]"
	}
	vals := map[string]string{}
	n, hasN := 0, false
	for i := 0; i+1 < len(args); i += 2 {
		name, _ := args[i].(string)
		v := args[i+1]
		if name == "n" {
			n, hasN = asInt(v)
		}
		if h, ok := v.(template.HTML); ok {
			vals[name] = string(h)
			continue
		}
		vals[name] = esc(fmt.Sprint(v))
	}
	return placeholder.ReplaceAllStringFunc(l.pick(m, n, hasN), func(p string) string {
		if v, ok := vals[p[1:len(p)-1]]; ok {
			return v
		}
		return p
	})
}

func asInt(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case int64:
		return int(x), true
	case int32:
		return int(x), true
	case uint:
		return int(x), true
	case uint32:
		return int(x), true
	case uint64:
		return int(x), true
	case float64:
		return int(x), true
	}
	return 0, false
}

// Words returns w in l: its format translated through the errors section
// (English keeps it as written), arguments that are Words translated
// first, and — when the translation has plural forms — the form chosen by
// the first integer argument. A format l does not know stays English.
func (l *Locale) Words(w deadbolt.Words) string {
	args := make([]any, len(w.Args))
	n, hasN := 0, false
	for i, a := range w.Args {
		switch x := a.(type) {
		case deadbolt.Words:
			args[i] = l.Words(x)
		default:
			args[i] = a
			if !hasN {
				n, hasN = asInt(a)
			}
		}
	}
	format := w.Format
	if m, ok := l.errors[w.Format]; ok {
		format = l.pick(m, n, hasN)
	} else if m, ok := locales[Default].errors[w.Format]; ok {
		format = locales[Default].pick(m, n, hasN)
	}
	if len(args) == 0 {
		return format
	}
	return fmt.Sprintf(format, args...)
}

// Error returns the public message of err in l.
func (l *Locale) Error(err error) string { return l.Words(deadbolt.ErrorWords(err)) }

// Translated reports whether l knows a translation of the English format
// (always true for English).
func (l *Locale) Translated(format string) bool {
	if l.code == Default {
		return true
	}
	_, ok := l.errors[format]
	return ok
}

// Prefixed returns the texts whose keys start with prefix, for scripts:
// plain texts as strings, plural forms as objects, English filling in
// keys l lacks.
func (l *Locale) Prefixed(prefix string) map[string]any {
	out := map[string]any{}
	for _, src := range []*Locale{locales[Default], l} {
		for k, m := range src.messages {
			if !strings.HasPrefix(k, prefix) {
				continue
			}
			if m.forms != nil {
				out[k] = m.forms
			} else {
				out[k] = m.text
			}
		}
	}
	return out
}

// Date returns the day of t in loc: "2 Jan 2026", "2 янв. 2026".
func (l *Locale) Date(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	r := strings.NewReplacer("{d}", strconv.Itoa(t.Day()), "{month}", l.months[t.Month()-1], "{yyyy}", strconv.Itoa(t.Year()))
	return r.Replace(l.dayLayout)
}

// DateTime returns t in loc to the minute with the zone's abbreviation:
// "2 Jan 2026, 14:05 CET", "2 янв. 2026, 14:05 MSK"; "" for the zero time.
func (l *Locale) DateTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	if loc == nil {
		loc = time.UTC
	}
	return l.Date(t, loc) + ", " + t.In(loc).Format("15:04 MST")
}

// Duration says how long d is, rounded up to a whole unit: seconds below
// two minutes, minutes below two hours, hours below two days, then days
// ("45 seconds", "5 минут"). It is meant to follow "in"/"через".
func (l *Locale) Duration(d time.Duration) string {
	ceil := func(unit time.Duration) int { return int((d + unit - 1) / unit) }
	switch {
	case d < 2*time.Minute:
		return l.T("duration.seconds", "n", max(ceil(time.Second), 1))
	case d < 2*time.Hour:
		return l.T("duration.minutes", "n", ceil(time.Minute))
	case d < 48*time.Hour:
		return l.T("duration.hours", "n", ceil(time.Hour))
	}
	return l.T("duration.days", "n", ceil(24*time.Hour))
}

// Matcher chooses a language for a request. It is safe for concurrent use.
type Matcher struct {
	def     *Locale
	matcher language.Matcher
	tags    []language.Tag
}

// NewMatcher returns a Matcher that falls back to the language def; an
// error names def when the catalogue lacks it.
func NewMatcher(def string) (*Matcher, error) {
	if def == "" {
		def = Default
	}
	d := Get(def)
	if d == nil {
		return nil, fmt.Errorf("i18n: no language %q; choose one of %s", def, strings.Join(Codes(), ", "))
	}
	m := &Matcher{def: d}
	for _, l := range order {
		m.tags = append(m.tags, l.tag)
	}
	m.matcher = language.NewMatcher(m.tags)
	return m, nil
}

// Codes lists the codes of every language, English first.
func Codes() []string {
	out := make([]string, len(order))
	for i, l := range order {
		out[i] = l.code
	}
	return out
}

// Default returns the fallback language (English for a nil Matcher).
func (m *Matcher) Default() *Locale {
	if m == nil {
		return locales[Default]
	}
	return m.def
}

// Negotiate chooses from an Accept-Language header (quality values and
// regions understood: "ru-RU,ru;q=0.9,en;q=0.8" is Russian, "en-GB" is
// English): the most preferred language the catalogue has, else the
// default. A language offered with q=0 is never chosen.
func (m *Matcher) Negotiate(accept string) *Locale {
	if m == nil {
		return locales[Default]
	}
	if strings.TrimSpace(accept) == "" {
		return m.def
	}
	desired := parseAccept(accept)
	if len(desired) == 0 {
		return m.def
	}
	for _, d := range desired {
		_, idx, conf := m.matcher.Match(d)
		if conf >= language.High {
			return order[idx]
		}
	}
	return m.def
}

// parseAccept returns the languages of an Accept-Language header, most
// wanted first. A malformed entry (such as "ru;q=0.9;q=0.9") is skipped
// rather than costing the whole header; entries with quality 0 are
// refused languages and left out.
func parseAccept(accept string) []language.Tag {
	if tags, _, err := language.ParseAcceptLanguage(accept); err == nil {
		return tags
	}
	type entry struct {
		tag language.Tag
		q   float32
	}
	var entries []entry
	for part := range strings.SplitSeq(accept, ",") {
		tags, qs, err := language.ParseAcceptLanguage(part)
		if err != nil || len(tags) != 1 || qs[0] <= 0 {
			continue
		}
		entries = append(entries, entry{tags[0], qs[0]})
	}
	slices.SortStableFunc(entries, func(a, b entry) int { return cmp.Compare(b.q, a.q) })
	tags := make([]language.Tag, len(entries))
	for i, e := range entries {
		tags[i] = e.tag
	}
	return tags
}

type ctxKey struct{}

// NewContext returns ctx carrying the language l.
func NewContext(ctx context.Context, l *Locale) context.Context {
	return context.WithValue(ctx, ctxKey{}, l)
}

// FromContext returns the language ctx carries, English when none.
func FromContext(ctx context.Context) *Locale {
	if l, ok := ctx.Value(ctxKey{}).(*Locale); ok && l != nil {
		return l
	}
	return locales[Default]
}
