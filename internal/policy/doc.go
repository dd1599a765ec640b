// Package policy decides who must set up two-factor authentication, by when,
// and which banners an employee sees on the portal's home page.
//
// Everything here is a pure function of a value describing one employee (or
// one workgroup) and the time now: the package keeps no state, reads no
// clock, and knows nothing of HTTP or SQL. The caller loads the state, calls
// Effective, Banners or Act, and stores what Act returns.
//
// Calendar rules ("hidden until the next day") use the organisation's time
// zone from Settings and compare calendar dates, not 24-hour spans, so a
// banner closed at 23:59 comes back at 00:00 and daylight-saving changes
// neither shorten nor lengthen the pause.
package policy
