package main

import (
	"net/netip"
	"net/url"
	"strings"
)

// phoneNote says, in lines to print at start, why a phone could not use
// the public URL u to pair the companion app — u names this computer
// (localhost, a loopback or unspecified address), or is plain http, which
// a phone's browser does not trust with the app's keys — and what to set
// instead. It returns nil when a phone can use u.
func phoneNote(u *url.URL) []string {
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	local := host == "localhost" || strings.HasSuffix(host, ".localhost")
	if a, err := netip.ParseAddr(host); err == nil {
		a = a.Unmap()
		local = local || a.IsLoopback() || a.IsUnspecified()
	}
	switch {
	case local:
		return []string{
			"Phones cannot reach " + u.String() + ": that address names this computer.",
			"To pair a phone with the companion app, start Deadbolt with --public-url set to an",
			"https address the phone can reach (e.g. --public-url https://sso.example.com behind",
			"a reverse proxy), and --listen on an interface that address leads to.",
		}
	case u.Scheme != "https":
		return []string{
			"Phones open the companion app only over https: with --public-url " + u.String(),
			"pairing a phone will not work. Serve Deadbolt at an https address (e.g. behind a",
			"reverse proxy) and set --public-url to it.",
		}
	}
	return nil
}
