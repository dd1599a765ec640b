package apps

import "deadbolt/internal/deadbolt"

// Index is the proxy apps of a list with their domain entries parsed once,
// for matching requests without parsing every entry each time: Match gives
// the same answer as the function Match over the same list, at the cost of
// one map lookup per label of the host. It is immutable, safe for
// concurrent use.
type Index struct {
	exact map[string][]indexEntry // by host
	wild  map[string][]indexEntry // wildcard entries by their base
	apps  int
}

type indexEntry struct {
	d     Domain
	app   *deadbolt.Application
	order int // position in the list: the earlier wins a tie, as in Match
}

// NewIndex indexes the proxy apps of list; entries that do not parse are
// left out (they never match).
func NewIndex(list []*deadbolt.Application) *Index {
	ix := &Index{exact: map[string][]indexEntry{}, wild: map[string][]indexEntry{}}
	order := 0
	for _, a := range list {
		if a.Kind != deadbolt.AppProxy {
			continue
		}
		ix.apps++
		for _, raw := range a.Domains {
			d, err := ParseDomain(raw)
			if err != nil {
				continue
			}
			e := indexEntry{d: d, app: a, order: order}
			order++
			if d.Wildcard {
				ix.wild[d.Host] = append(ix.wild[d.Host], e)
			} else {
				ix.exact[d.Host] = append(ix.exact[d.Host], e)
			}
		}
	}
	return ix
}

// Len is the number of proxy apps indexed.
func (ix *Index) Len() int { return ix.apps }

// Match returns the proxy app whose domain entry matches a request for
// hostport and requestURI most specifically, or nil: see the function
// Match.
func (ix *Index) Match(hostport, requestURI string) *deadbolt.Application {
	clean, ok := CleanPath(requestURI)
	if !ok {
		return nil
	}
	host, port := splitHost(hostport)
	if host == "" {
		return nil
	}
	var best *indexEntry
	var bestScore score
	consider := func(es []indexEntry) {
		for i := range es {
			e := &es[i]
			sc, ok := e.d.matchScore(host, port, clean)
			if !ok {
				continue
			}
			if best == nil || sc.better(bestScore) || (sc == bestScore && e.order < best.order) {
				best, bestScore = e, sc
			}
		}
	}
	consider(ix.exact[host])
	for i := 0; i < len(host); i++ {
		if host[i] == '.' {
			consider(ix.wild[host[i+1:]])
		}
	}
	if best == nil {
		return nil
	}
	return best.app
}
