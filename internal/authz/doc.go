// Package authz answers the question a reverse proxy asks before it lets a
// request through to an application with no sign-in of its own
// (forward-auth: nginx auth_request, Traefik ForwardAuth, Caddy
// forward_auth): original request → application → decision → Remote-*
// headers. It also keeps the per-node session cache that makes this check,
// and every other session check (signin.Authenticate), fast without ever
// admitting a session that has ended. It knows nothing of HTTP or SQL: the
// web layer hands it the original request's parts, the stores persist.
//
// # The check
//
// Service.Check takes the original request as the proxy tells it (the web
// layer believes the forwarded headers only from --trusted-proxies) and
// the session token (SSO cookie or bearer): the app is the proxy app whose
// domain entry (host, host/path-prefix, *.base) matches most specifically
// (apps.Index; no match: NoApp, refused — deny by default); no full session
// is SignIn; then the access rule of package apps decides: Allow (the web
// layer answers 200 with Remote-User, -Name, -Email, -Groups), Denied,
// SetUp (require_2fa, no second factor yet) or StepUp (require_2fa, a
// session proven without one). Continue checks a return address (rd) after
// sign-in: Deadbolt's own pages, or a registered app's address — never
// elsewhere. Grants and denials go to the audit log once per session, app
// and verdict an hour (grants) or a minute (denials), not once per proxied
// request, and without holding up the answer.
//
// # Fast, and revoked at once
//
// Every request to every protected application passes through the check,
// so it must not wait for the database. The Cache keeps, per node, a copy
// of each recently seen session with its employee (keyed by the token's
// hash, as the store is) and of each employee's workgroups, and answers
// from memory. What makes the copies safe is that the database itself
// announces every change that could make one wrong:
//
//   - Triggers on users, sessions, workgroup_members and workgroups
//     (migration 00015 of each store) publish "user U changed" for every
//     committed delete or update of an account or a session (all but the
//     idle-time update) and every membership change. A session ends only
//     by such a change — logout, log out of all devices, password change or
//     reset, deactivation, an administrator's 2FA reset or session
//     deletion, a completed sign-in replacing its pending session, the
//     sweeper's delete of expired sessions — so no service path can forget
//     to announce it, including paths written later and other processes
//     on the same database (the "deadbolt admin" command).
//   - On PostgreSQL the announcement is pg_notify in the same transaction,
//     delivered only if it commits: to every node's listening connection,
//     and to the pool connection that made the change (a channel of its
//     own), which receives it before its COMMIT returns. On SQLite the
//     trigger writes a numbered row; the writer publishes its
//     transaction's rows after the commit and before it answers, and a
//     poller picks up other processes' rows. Either way the node that ends
//     a session has forgotten it before it answers, and other nodes within
//     a few milliseconds.
//   - Expiry needs no announcement: the absolute end and the idle time are
//     rules of signin, checked against the injected clock on every request
//     from the copy's ExpiresAt and LastSeenAt.
//
// A copy read from the store can race a revocation: the read starts, the
// revocation commits and is announced, then the read's result arrives.
// Every announcement bumps a generation (per bucket of users); a copy is
// kept only if no announcement for its employee, and no flush, came after
// its read began — otherwise it answers that one request (which raced the
// revocation anyway) and is dropped.
//
// Losing the feed must never mean trusting stale copies. PostgreSQL
// notifications sent while a listener is disconnected are lost, so the
// feed proves it works: each listener sends itself a heartbeat every
// 200 ms through the pool and, because notifications arrive in commit
// order, hearing one back proves every change committed before it was sent
// has arrived; it vouches for the feed (FeedUp) until 700 ms after that
// send. A listener that errs or falls silent reports FeedDown at once; the
// cache then forgets everything, reads every session from the database and
// keeps nothing until the feed is back, and forgets everything once more
// when it is. A listener that hangs without erring simply stops renewing:
// past its lease the cache stops answering from memory. So no node uses a
// copy more than about 0.9 s after a change it could have missed. On top
// of that, every copy is read again after MaxAge (30 s) whatever the feed
// says.
//
// Idle time is not written per check either: the sign-in service asks to
// record activity at most once a minute per session, and the cache
// gathers those requests and writes them once a second in one statement
// (TouchSessions), which the feed does not announce; a copy read again
// meanwhile keeps the newer time.
package authz
