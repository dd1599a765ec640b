package i18n

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"deadbolt/internal/deadbolt"
)

// cldrForms are the plural categories a language's integers fall in, with
// "other" (fractions), as CLDR defines them: en one/other, ru
// one/few/many/other.
func cldrForms(l *Locale) []string {
	seen := map[string]bool{"other": true}
	for n := 0; n < 1000; n++ {
		seen[l.form(n)] = true
	}
	var out []string
	for _, f := range pluralNames {
		if seen[f] {
			out = append(out, f)
		}
	}
	return out
}

var tagPattern = regexp.MustCompile(`</?[a-z][^>]*>`)

// skeleton is the markup of a text, in order.
func skeleton(s string) []string { return tagPattern.FindAllString(s, -1) }

func placeholders(s string) []string {
	var out []string
	for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func texts(m message) []string {
	if m.forms == nil {
		return []string{m.text}
	}
	var out []string
	for _, f := range pluralNames {
		if s, ok := m.forms[f]; ok {
			out = append(out, s)
		}
	}
	return out
}

// TestCatalogues: every language has every key of English and no other;
// a plural text has exactly the language's CLDR forms; every text of a key
// has the English text's placeholders and markup; nothing is empty.
func TestCatalogues(t *testing.T) {
	en := English()
	if len(en.messages) < 300 {
		t.Fatalf("en.json has only %d texts", len(en.messages))
	}
	if len(Languages()) < 2 || Get("ru") == nil {
		t.Fatalf("languages = %v, want en and ru at least", Codes())
	}
	for _, l := range Languages() {
		if l.name == "" {
			t.Errorf("%s.json has no name", l.code)
		}
		forms := cldrForms(l)
		for k, em := range en.messages {
			m, ok := l.messages[k]
			if !ok {
				t.Errorf("%s.json lacks the key %q", l.code, k)
				continue
			}
			if (m.forms == nil) != (em.forms == nil) && m.forms == nil {
				// A language may need plural forms where English does
				// not, never the other way round.
				t.Errorf("%s.json: %q is a plain text, English has plural forms", l.code, k)
			}
			if m.forms != nil {
				var got []string
				for _, f := range pluralNames {
					if _, ok := m.forms[f]; ok {
						got = append(got, f)
					}
				}
				if !slices.Equal(got, forms) {
					t.Errorf("%s.json: %q has the plural forms %v, want %v", l.code, k, got, forms)
				}
				if !slices.Contains(placeholders(strings.Join(texts(em), " ")), "n") {
					t.Errorf("%s.json: %q has plural forms but English never shows {n}", l.code, k)
				}
			}
			want := placeholders(strings.Join(texts(em), " "))
			wantTags := skeleton(texts(em)[0])
			for _, s := range texts(m) {
				if strings.TrimSpace(s) == "" {
					t.Errorf("%s.json: %q is empty", l.code, k)
				}
				got := placeholders(s)
				for _, p := range got {
					if !slices.Contains(want, p) {
						t.Errorf("%s.json: %q uses {%s}, which English does not give", l.code, k, p)
					}
				}
				for _, p := range want {
					if !slices.Contains(got, p) && !(p == "n" && m.forms != nil && l.form(1) == "one" && s == m.forms["one"]) {
						t.Errorf("%s.json: %q = %q loses {%s}", l.code, k, s, p)
					}
				}
				gotTags := skeleton(s)
				slices.Sort(gotTags)
				sortedWant := slices.Clone(wantTags)
				slices.Sort(sortedWant)
				if !slices.Equal(gotTags, sortedWant) {
					t.Errorf("%s.json: %q has the markup %v, English %v", l.code, k, gotTags, wantTags)
				}
			}
		}
		for k := range l.messages {
			if _, ok := en.messages[k]; !ok {
				t.Errorf("%s.json has the key %q, which en.json lacks", l.code, k)
			}
		}
		for f, m := range l.errors {
			for _, s := range texts(m) {
				if err := sameVerbs(f, s); err != nil {
					t.Errorf("%s.json: the translation of %q: %v", l.code, f, err)
				}
			}
			if m.forms != nil && !strings.Contains(f, "%d") {
				t.Errorf("%s.json: %q has plural forms but no number", l.code, f)
			}
		}
	}
}

var verbPattern = regexp.MustCompile(`%(\[\d+\])?[-+# 0]*\d*(\.\d+)?[a-zA-Z%]`)

// sameVerbs checks that a translation formats the English format's
// arguments: each of them used once, with a verb fit for its type.
func sameVerbs(en, tr string) error {
	var args []any
	for _, v := range verbPattern.FindAllString(en, -1) {
		switch v[len(v)-1] {
		case '%':
			continue
		case 'd':
			args = append(args, 7)
		default:
			args = append(args, "x")
		}
	}
	out := fmt.Sprintf(tr, args...)
	if strings.Contains(out, "%!") {
		return fmt.Errorf("%q does not fit the arguments of %q: %s", tr, en, out)
	}
	return nil
}

func TestPluralForms(t *testing.T) {
	ru, en := Get("ru"), English()
	tests := []struct {
		l    *Locale
		n    int
		want string
	}{
		{ru, 1, "1 код"}, {ru, 2, "2 кода"}, {ru, 5, "5 кодов"}, {ru, 11, "11 кодов"}, {ru, 21, "21 код"},
		{ru, 22, "22 кода"}, {ru, 0, "0 кодов"}, {ru, 112, "112 кодов"},
		{en, 1, "1 code"}, {en, 2, "2 codes"}, {en, 0, "0 codes"},
	}
	words := map[string][]string{"one": {"код", "code"}, "few": {"кода"}, "many": {"кодов"}, "other": {"кода", "codes"}}
	for _, tt := range tests {
		f := tt.l.PluralForm(tt.n)
		w := words[f][0]
		if tt.l == en {
			w = words[f][len(words[f])-1]
		}
		if got := fmt.Sprintf("%d %s", tt.n, w); got != tt.want {
			t.Errorf("%s: PluralForm(%d) = %q, giving %q; want %q", tt.l.Code(), tt.n, f, got, tt.want)
		}
	}
	// And through a catalogue text.
	for _, tt := range []struct {
		l    *Locale
		n    int
		want string
	}{
		{ru, 1, "Остался 1 резервный код из 10."}, {ru, 3, "Осталось 3 резервных кода из 10."},
		{ru, 7, "Осталось 7 резервных кодов из 10."}, {en, 1, "1 of 10 recovery codes left."},
	} {
		if got := tt.l.T("security.codes.left", "n", tt.n, "total", 10); got != tt.want {
			t.Errorf("%s T(security.codes.left, %d) = %q, want %q", tt.l.Code(), tt.n, got, tt.want)
		}
	}
}

func TestNegotiate(t *testing.T) {
	m, err := NewMatcher("en")
	if err != nil {
		t.Fatal(err)
	}
	ru, err := NewMatcher("ru")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		m      *Matcher
		accept string
		want   string
	}{
		{m, "", "en"},
		{m, "ru", "ru"},
		{m, "ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7", "ru"},
		{m, "en-GB,en;q=0.9,ru;q=0.8", "en"},
		{m, "de-DE,de;q=0.9,ru;q=0.5", "ru"},
		{m, "de, fr", "en"},
		{ru, "de, fr", "ru"},
		{ru, "", "ru"},
		{m, "ru;q=0, en", "en"},
		{ru, "ru;q=0.1, en;q=0.9", "en"},
		{m, "*", "en"},
		{m, "RU-ru", "ru"},
		{m, "garbage;;;q=x", "en"},
		{m, "ru-RU,ru;q=0.9;q=0.9", "ru"},
		{m, "de;q=x, ru;q=0.5, en;q=0.4", "ru"},
		{ru, "en;q=0.2, ru;q=0, garbage;;", "en"},
		{m, "uk", "en"},
	}
	for _, tt := range tests {
		if got := tt.m.Negotiate(tt.accept).Code(); got != tt.want {
			t.Errorf("Negotiate(%q) with default %s = %s, want %s", tt.accept, tt.m.Default().Code(), got, tt.want)
		}
	}
	if _, err := NewMatcher("xx"); err == nil {
		t.Errorf("NewMatcher(xx) = nil error, want one naming the languages")
	}
}

func TestTAndHTML(t *testing.T) {
	en := English()
	if got := en.T("home.welcome", "name", "Ann <b>"); got != "Welcome, Ann <b>" {
		t.Errorf("T = %q", got)
	}
	if got := string(en.HTML("home.welcome", "name", "Ann <b>")); got != "Welcome, Ann &lt;b&gt;" {
		t.Errorf("HTML = %q, want the argument escaped", got)
	}
	if got := en.T("no.such.key"); got != "[no.such.key]" {
		t.Errorf("T(unknown) = %q", got)
	}
	if got := Get("ru").T("home.welcome", "name", "Оля"); got != "Здравствуйте, Оля" {
		t.Errorf("ru T = %q", got)
	}
}

func TestWords(t *testing.T) {
	ru := Get("ru")
	w := deadbolt.Phrase("Text messages are not set up on this server. %s",
		deadbolt.Phrase("Try again later."))
	if got := ru.Words(w); got != "На этом сервере не настроена отправка SMS. Попробуйте позже." {
		t.Errorf("Words(nested) = %q", got)
	}
	if got := English().Words(w); got != "Text messages are not set up on this server. Try again later." {
		t.Errorf("English Words = %q", got)
	}
	if got := ru.Words(deadbolt.Phrase("The password must have at least %d characters.", 8)); got != "Пароль должен быть не короче 8 символов." {
		t.Errorf("Words(plural) = %q", got)
	}
	if got := ru.Words(deadbolt.Phrase("The password must have at least %d characters.", 1)); got != "Пароль должен быть не короче 1 символа." {
		t.Errorf("Words(plural, 1) = %q", got)
	}
	if got := ru.Words(deadbolt.Phrase("An unknown sentence %d.", 3)); got != "An unknown sentence 3." {
		t.Errorf("Words(unknown) = %q, want the English", got)
	}
	err := deadbolt.Errorf(deadbolt.CodeNotFound, "There is nothing at %s %s.", "GET", "/x")
	if got := ru.Error(err); got != "По адресу /x методом GET ничего нет." {
		t.Errorf("Error(reordered) = %q", got)
	}
	if got := ru.Error(deadbolt.StoreError(deadbolt.CodeNotFound, "store detail")); got != "Запрошенный объект не существует." {
		t.Errorf("Error(store error) = %q, want the code's sentence", got)
	}
}

func TestDatesAndDurations(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip("no time zone data:", err)
	}
	at := time.Date(2026, 5, 2, 12, 5, 0, 0, time.UTC)
	if got := English().DateTime(at, paris); got != "2 May 2026, 14:05 CEST" {
		t.Errorf("en DateTime = %q", got)
	}
	if got := Get("ru").DateTime(at, paris); got != "2 мая 2026, 14:05 CEST" {
		t.Errorf("ru DateTime = %q", got)
	}
	if got := Get("ru").Date(time.Date(2026, 11, 30, 23, 0, 0, 0, time.UTC), time.UTC); got != "30 нояб. 2026" {
		t.Errorf("ru Date = %q", got)
	}
	if English().DateTime(time.Time{}, paris) != "" {
		t.Errorf("DateTime(zero) is not empty")
	}
	for _, tt := range []struct {
		l    *Locale
		d    time.Duration
		want string
	}{
		{English(), 30 * time.Second, "30 seconds"}, {English(), time.Second, "1 second"},
		{Get("ru"), 1 * time.Second, "1 секунду"}, {Get("ru"), 45 * time.Second, "45 секунд"},
		{Get("ru"), 59 * time.Minute, "59 минут"}, {Get("ru"), 22 * time.Minute, "22 минуты"},
		{Get("ru"), 5 * time.Hour, "5 часов"}, {Get("ru"), 3 * 24 * time.Hour, "3 дня"},
		{English(), 90 * time.Minute, "90 minutes"}, {English(), 150 * time.Second, "3 minutes"},
	} {
		if got := tt.l.Duration(tt.d); got != tt.want {
			t.Errorf("%s Duration(%v) = %q, want %q", tt.l.Code(), tt.d, got, tt.want)
		}
	}
}

func TestContext(t *testing.T) {
	if FromContext(context.Background()) != English() {
		t.Errorf("FromContext(empty) is not English")
	}
	if FromContext(NewContext(context.Background(), Get("ru"))).Code() != "ru" {
		t.Errorf("FromContext lost the language")
	}
}
