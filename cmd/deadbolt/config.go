package main

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"deadbolt/internal/app"
	"deadbolt/internal/captcha"
	"deadbolt/internal/device"
	"deadbolt/internal/i18n"
	"deadbolt/internal/password"
)

var errUsage = errors.New("usage")

// setting is one configuration value: a flag, a DEADBOLT_ variable and a
// config-file key, in that order of precedence, over the default.
type setting struct {
	name, def, usage string
}

func (s setting) env() string {
	return "DEADBOLT_" + strings.ToUpper(strings.ReplaceAll(s.name, "-", "_"))
}

var serveSettings = []setting{
	{"listen", "127.0.0.1:8080", "address to listen on"},
	{"database", "deadbolt.db", "SQLite file path, or a postgres:// URL"},
	{"public-url", "", "address employees use to reach Deadbolt (default http://localhost:PORT when listening on loopback, else http://LISTEN); passkeys need a domain name, not an IP address"},
	{"dev", "false", "development mode: dev clock, SMS outbox, CAPTCHA answers (loopback only)"},
	{"admin-password", "", "password of the first administrator on an empty database (default: generated and printed)"},
	{"master-key", "", "hex-encoded 32-byte key that seals secrets at rest (default: read or create master-key-file)"},
	{"master-key-file", "deadbolt.key", "file holding the master key; created on first start with SQLite"},
	{"trusted-proxies", "", "comma-separated networks whose X-Forwarded-For (and, for forward-auth, X-Forwarded-Method/-Proto/-Host/-Uri and X-Original-URL) is believed, e.g. 10.0.0.0/8"},
	{"cookie-domain", "", "domain of the session cookie (e.g. example.com) so that the reverse proxies of its subdomains can pass it to forward-auth; the public URL must be https and lie inside it (default: a host-only __Host- cookie)"},
	{"session-lifetime", "24h", "absolute lifetime of a session"},
	{"session-idle", "1h", "a session unused this long ends"},
	{"hash-memory", "19456", "argon2id memory in KiB"},
	{"hash-time", "2", "argon2id passes"},
	{"hash-threads", "1", "argon2id parallelism"},
	{"hash-concurrency", "0", "password hashes run at once (0: one per CPU)"},
	{"log-level", "info", "debug, info, warn or error"},
	{"log-format", "text", "text or json"},
	{"org-timezone", "UTC", "organisation time zone (IANA name); a closed banner comes back at the next midnight there"},
	{"check-every", "4320h", `period of the "check your login parameters" banner (4320h = 180 days)`},
	{"captcha-provider", "builtin", "CAPTCHA after wrong recovery codes: builtin (self-hosted image and audio), turnstile or hcaptcha"},
	{"captcha-site-key", "", "site key of the hosted CAPTCHA (turnstile, hcaptcha)"},
	{"captcha-secret", "", "secret key of the hosted CAPTCHA (turnstile, hcaptcha)"},
	{"sms-provider", "log", "SMS provider: log (development mode only: codes go to the dev outbox), webhook or twilio"},
	{"sms-webhook-url", "", "http(s) address the webhook SMS provider calls"},
	{"sms-webhook-method", "POST", "POST or PUT"},
	{"sms-webhook-format", "json", `json ({"to","text"}) or form (to=…&text=…)`},
	{"sms-webhook-auth", "", `value of the webhook's Authorization header, e.g. "Bearer …"`},
	{"twilio-account-sid", "", "Twilio account SID (AC followed by 32 hex digits)"},
	{"twilio-auth-token", "", "Twilio auth token"},
	{"twilio-from", "", "Twilio sending number (E.164) or sender ID"},
	{"phone-region", "US", "region of phone numbers typed without a country code (ISO 3166-1 alpha-2)"},
	{"sms-hourly-budget", "1000", "most SMS codes the whole service sends per hour; past it SMS pauses and an error is logged"},
	{"phone-numbers-per-hour", "5", "different phone numbers one employee may try to link per hour (each answered at once, taken ones with phone_in_use); past it 429"},
	{"push-digits", "6", "length of the number the sign-in page shows and the employee types on the phone (6 to 8)"},
	{"shutdown-timeout", "15s", "on SIGTERM, how long requests in flight may take to finish before they are cut off"},
	{"default-language", "en", "language of pages, texts and messages for employees who chose none and whose browser asks for none Deadbolt has (en or ru)"},
}

// values holds resolved settings by name.
type values map[string]string

// parseSettings resolves settings from args, the environment and the
// config file named by --config / DEADBOLT_CONFIG. It returns the
// remaining positional arguments.
func parseSettings(cmd string, defs []setting, args []string, getenv func(string) string, out io.Writer) (values, []string, error) {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(out)
	sf := addSettings(fs, defs)
	// Boolean flags may be given bare.
	args = expandBoolFlags(args, "dev")
	if err := fs.Parse(args); err != nil {
		return nil, nil, errUsage
	}
	v, err := sf.resolve(fs, getenv)
	if err != nil {
		return nil, nil, err
	}
	return v, fs.Args(), nil
}

// settingFlags are settings registered as flags of one command, with the
// --config flag naming a config file.
type settingFlags struct {
	defs   []setting
	set    map[string]*string
	config *string
}

// addSettings registers defs, and --config, as flags of fs.
func addSettings(fs *flag.FlagSet, defs []setting) *settingFlags {
	sf := &settingFlags{defs: defs, set: map[string]*string{}}
	for _, s := range defs {
		sf.set[s.name] = fs.String(s.name, "", fmt.Sprintf("%s (env %s, default %q)", s.usage, s.env(), s.def))
	}
	sf.config = fs.String("config", "", "JSON config file whose keys are the setting names (env DEADBOLT_CONFIG)")
	return sf
}

// resolve returns the value of every setting once fs is parsed: the flag,
// else the DEADBOLT_ variable, else the config file's key, else the
// default. A config file that cannot be read, is not a JSON object or
// holds an unknown key is an error.
func (sf *settingFlags) resolve(fs *flag.FlagSet, getenv func(string) string) (values, error) {
	file := map[string]any{}
	path := *sf.config
	if path == "" {
		path = getenv("DEADBOLT_CONFIG")
	}
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config file: %w", err)
		}
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.UseNumber()
		if err := dec.Decode(&file); err != nil {
			return nil, fmt.Errorf("config file %s: %w", path, err)
		}
		known := map[string]bool{}
		for _, s := range sf.defs {
			known[s.name] = true
		}
		for k := range file {
			if !known[k] {
				return nil, fmt.Errorf("config file %s: unknown setting %q", path, k)
			}
		}
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	v := values{}
	for _, s := range sf.defs {
		switch {
		case given[s.name]:
			v[s.name] = *sf.set[s.name]
		case getenv(s.env()) != "":
			v[s.name] = getenv(s.env())
		case file[s.name] != nil:
			v[s.name] = fmt.Sprint(file[s.name])
		default:
			v[s.name] = s.def
		}
	}
	return v, nil
}

// expandBoolFlags turns a bare --dev into --dev=true so the flag can also
// take a value.
func expandBoolFlags(args []string, names ...string) []string {
	out := make([]string, 0, len(args))
	for _, a := range args {
		for _, n := range names {
			if a == "-"+n || a == "--"+n {
				a = "--" + n + "=true"
			}
		}
		out = append(out, a)
	}
	return out
}

// settingError names the setting that is wrong.
func settingError(name string, err error) error {
	return fmt.Errorf("setting %s (--%s, %s): %w", name, name, setting{name: name}.env(), err)
}

func (v values) duration(name string) (time.Duration, error) {
	d, err := time.ParseDuration(v[name])
	if err != nil || d <= 0 {
		return 0, settingError(name, fmt.Errorf("%q is not a positive duration such as 1h or 30m", v[name]))
	}
	return d, nil
}

func (v values) uint(name string, max uint64) (uint64, error) {
	n, err := strconv.ParseUint(v[name], 10, 64)
	if err != nil || n > max {
		return 0, settingError(name, fmt.Errorf("%q is not a whole number up to %d", v[name], max))
	}
	return n, nil
}

func (v values) bool(name string) (bool, error) {
	b, err := strconv.ParseBool(v[name])
	if err != nil {
		return false, settingError(name, fmt.Errorf("%q is not true or false", v[name]))
	}
	return b, nil
}

// serveConfig validates the serve settings into an app.Config and the
// listen address.
func serveConfig(v values, stderr io.Writer) (app.Config, string, error) {
	var c app.Config
	listen := v["listen"]
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return c, "", settingError("listen", fmt.Errorf("%q is not HOST:PORT", listen))
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return c, "", settingError("listen", fmt.Errorf("port %q is not a number", port))
	}
	if c.Dev, err = v.bool("dev"); err != nil {
		return c, "", err
	}
	if c.Dev && !loopbackHost(host) {
		return c, "", settingError("listen", fmt.Errorf("development mode listens only on loopback, not %q", host))
	}
	c.Database = v["database"]
	if c.Database == "" {
		return c, "", settingError("database", errors.New("must not be empty"))
	}
	if app.IsPostgres(c.Database) {
		if _, err := url.Parse(c.Database); err != nil {
			return c, "", settingError("database", errors.New("is not a valid postgres:// URL"))
		}
	}
	pub := v["public-url"]
	if pub == "" {
		pub = defaultPublicURL(listen)
	}
	u, err := url.Parse(pub)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return c, "", settingError("public-url", fmt.Errorf("%q is not an http(s) address like https://sso.example.com", pub))
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	c.PublicURL = u
	c.AdminPassword = v["admin-password"]
	if c.AdminPassword != "" {
		if err := password.Validate(c.AdminPassword); err != nil {
			return c, "", settingError("admin-password", err)
		}
	}
	for _, p := range strings.Split(v["trusted-proxies"], ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			a, aerr := netip.ParseAddr(p)
			if aerr != nil {
				return c, "", settingError("trusted-proxies", fmt.Errorf("%q is not a network or address", p))
			}
			pfx = netip.PrefixFrom(a, a.BitLen())
		}
		c.TrustedProxies = append(c.TrustedProxies, pfx.Masked())
	}
	if c.CookieDomain, err = app.CheckCookieDomain(v["cookie-domain"], c.PublicURL); err != nil {
		return c, "", settingError("cookie-domain", err)
	}
	if c.SessionLifetime, err = v.duration("session-lifetime"); err != nil {
		return c, "", err
	}
	if c.SessionIdle, err = v.duration("session-idle"); err != nil {
		return c, "", err
	}
	if c.ShutdownTimeout, err = v.duration("shutdown-timeout"); err != nil {
		return c, "", err
	}
	mem, err := v.uint("hash-memory", password.MaxMemory)
	if err != nil {
		return c, "", err
	}
	tm, err := v.uint("hash-time", password.MaxTime)
	if err != nil {
		return c, "", err
	}
	th, err := v.uint("hash-threads", password.MaxThreads)
	if err != nil {
		return c, "", err
	}
	c.Hash = password.DefaultParams
	c.Hash.Memory, c.Hash.Time, c.Hash.Threads = uint32(mem), uint32(tm), uint8(th)
	if err := c.Hash.Validate(); err != nil {
		// Name the setting that is out of range.
		culprit := "hash-memory"
		switch {
		case c.Hash.Time < 1:
			culprit = "hash-time"
		case c.Hash.Threads < 1:
			culprit = "hash-threads"
		}
		return c, "", settingError(culprit, err)
	}
	conc, err := v.uint("hash-concurrency", 1024)
	if err != nil {
		return c, "", err
	}
	c.HashConcurrency = int(conc)
	if c.PushDigits, err = pushDigits(v); err != nil {
		return c, "", err
	}
	c.DefaultLanguage = strings.TrimSpace(v["default-language"])
	if i18n.Get(c.DefaultLanguage) == nil {
		return c, "", settingError("default-language", fmt.Errorf("%q is not one of %s", v["default-language"], strings.Join(i18n.Codes(), ", ")))
	}
	if c.OrgLocation, c.CheckEvery, err = policySettings(v); err != nil {
		return c, "", err
	}
	if c.Captcha, err = captchaSettings(v); err != nil {
		return c, "", err
	}
	if c.SMS, err = smsSettings(v); err != nil {
		return c, "", err
	}
	if c.Logger, err = newLogger(v, stderr); err != nil {
		return c, "", err
	}
	if c.MasterKey, err = masterKey(v, app.IsPostgres(c.Database)); err != nil {
		return c, "", err
	}
	return c, listen, nil
}

// pushDigits validates the length of the push number: NIST SP 800-63B
// rev 4 wants at least six digits, so nothing shorter is accepted.
func pushDigits(v values) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(v["push-digits"]))
	if err != nil || n < device.MinDigits || n > device.MaxDigits {
		return 0, settingError("push-digits", fmt.Errorf("%q is not a whole number from %d to %d", v["push-digits"], device.MinDigits, device.MaxDigits))
	}
	return n, nil
}

// defaultPublicURL is the public URL of a server listening on listen
// without one set: http://localhost:PORT on a loopback address — passkeys
// (WebAuthn) need a domain name, and localhost is one browsers trust over
// plain http — and http://LISTEN otherwise.
func defaultPublicURL(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err == nil && loopbackHost(host) {
		return "http://" + net.JoinHostPort("localhost", port)
	}
	return "http://" + listen
}

func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// masterKey returns the key sealing secrets at rest: from the setting, or
// from the key file, which is created on first start with SQLite. Several
// PostgreSQL nodes must share one key, so there it is never made up.
func masterKey(v values, postgres bool) ([]byte, error) {
	if k := v["master-key"]; k != "" {
		b, err := hex.DecodeString(k)
		if err != nil || len(b) != 32 {
			return nil, settingError("master-key", errors.New("must be 64 hex characters (32 bytes)"))
		}
		return b, nil
	}
	path := v["master-key-file"]
	b, err := os.ReadFile(path)
	if err == nil {
		k, derr := hex.DecodeString(strings.TrimSpace(string(b)))
		if derr != nil || len(k) != 32 {
			return nil, settingError("master-key-file", fmt.Errorf("%s does not hold 64 hex characters", path))
		}
		return k, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, settingError("master-key-file", err)
	}
	if postgres {
		return nil, settingError("master-key", errors.New("is required with PostgreSQL: every node needs the same key"))
	}
	k := make([]byte, 32)
	if _, err := cryptoRand(k); err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	if dir != "." {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, settingError("master-key-file", err)
		}
	}
	// Written aside, then linked into place: a command starting at the same
	// moment reads a whole key or none, and the first link wins.
	f, err := os.CreateTemp(dir, ".deadbolt-key-*")
	if err != nil {
		return nil, settingError("master-key-file", err)
	}
	defer os.Remove(f.Name())
	_, err = f.WriteString(hex.EncodeToString(k) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Link(f.Name(), path)
	}
	if errors.Is(err, os.ErrExist) {
		return masterKey(v, postgres) // another start made the key first: use it
	}
	if err != nil {
		return nil, settingError("master-key-file", err)
	}
	return k, nil
}

func newLogger(v values, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(v["log-level"])); err != nil {
		return nil, settingError("log-level", fmt.Errorf("%q is not debug, info, warn or error", v["log-level"]))
	}
	opts := &slog.HandlerOptions{Level: level}
	switch v["log-format"] {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, settingError("log-format", fmt.Errorf("%q is not text or json", v["log-format"]))
}

// captchaSettings validates the CAPTCHA settings: nil for the built-in
// one, or the hosted provider's configuration.
func captchaSettings(v values) (*captcha.HostedConfig, error) {
	switch p := strings.ToLower(strings.TrimSpace(v["captcha-provider"])); p {
	case "builtin", "":
		return nil, nil
	case captcha.ProviderTurnstile, captcha.ProviderHCaptcha:
		if v["captcha-site-key"] == "" {
			return nil, settingError("captcha-site-key", fmt.Errorf("is required with captcha-provider %s", p))
		}
		if v["captcha-secret"] == "" {
			return nil, settingError("captcha-secret", fmt.Errorf("is required with captcha-provider %s", p))
		}
		return &captcha.HostedConfig{Provider: p, SiteKey: v["captcha-site-key"], Secret: v["captcha-secret"]}, nil
	default:
		return nil, settingError("captcha-provider", fmt.Errorf("%q is not builtin, turnstile or hcaptcha", v["captcha-provider"]))
	}
}
