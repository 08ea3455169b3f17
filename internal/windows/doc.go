// Package windows decides what a maintenance window is at a given instant: its phase, the occurrence that covers
// that instant, the next occurrences, whether the next one is announced, and the next instant at which any of that
// changes (where the controller requeues).
//
// It is pure: a Spec and now in, a State out. It must not import the API types or a Kubernetes client, nor read the
// clock (no time.Now) or any global state; the controller converts the MaintenanceWindow and passes its clock's now.
//
// # Schedules
//
// A recurring window's schedule is a standard 5-field cron expression, parsed here (cron.go, no dependency):
// minute hour day-of-month month day-of-week; *, values, ranges a-b, lists, steps (*/15, 1-30/5, and
// 5/15 meaning 5-59/15); three-letter month and day names in any case; day-of-week 0 and 7 are Sunday; ? is * in
// the day fields. When both day fields are restricted (neither is *, ? or */1) a day matches either of them, else both
// (the Vixie cron rule, as Kubernetes CronJob applies it). No seconds field, no @daily macros, no TZ=/CRON_TZ= prefix:
// the zone is spec.timeZone. A day-of-month that none of the listed months has ("0 0 30 2 *") is invalid, so every
// valid schedule runs at least once in eight years; searches look nine years ahead.
//
// No cron library is used. robfig/cron v3 is unmaintained since 2021 and panics on a bare TZ=; the two maintained
// ones checked search in the zone's wall clock and follow rules other than the ones below (a daily 02:30 on
// 29 March and 25 October 2026 in Europe/Berlin): adhocore/gronx v1.20.4 skips it on the spring day and runs it at
// 02:30 CET, not CEST, on the autumn day; netresearch/go-cron v0.9.1 runs it twice on the autumn day.
// Parsing five fields is the small part; owning the search is what makes the rules hold.
//
// # Time zones and daylight saving time
//
// Schedules are read in the IANA zone spec.timeZone ("" is UTC) with the zone rules embedded by time/tzdata. A
// schedule names local clock times; each becomes an instant as follows, without relying on time.Date's choice in a
// gap or an overlap (Go leaves it unspecified):
//   - a local time that exists once is that instant;
//   - a local time skipped when clocks jump forward still happens, shifted by the length of the jump: 02:30 on
//     29 March 2026 in Europe/Berlin is 03:30 CEST (01:30 UTC), 02:30 on 8 March 2026 in America/New_York is
//     03:30 EDT (07:30 UTC);
//   - a local time repeated when clocks go back happens once, at its first instant: 02:30 on 25 October 2026 in
//     Europe/Berlin is 02:30 CEST (00:30 UTC), 01:30 on 1 November 2026 in America/New_York is 01:30 EDT (05:30 UTC);
//   - except that a schedule whose hour field matches every hour (* or 0-23) happens at both instants of a repeated
//     time, so that an hourly schedule stays hourly in real time: "0 * * * *" has no missing hour in UTC on the day
//     clocks go back (25 occurrences), and no duplicated one on the day they jump forward (23 occurrences, because
//     02:00 shifted to 03:00 CEST is the same instant as 03:00 itself);
//   - occurrences at the same instant count once.
//
// Duration is elapsed time: a 30-minute occurrence starting at 02:45 CEST on 25 October 2026 in Europe/Berlin ends
// 30 real minutes later, at 02:15 CET. All times in a State are UTC.
//
// # Phases and occurrences
//
// An invalid spec is Invalid (Validate: reason InvalidSchedule or UnknownTimeZone), even when suspended. A suspended
// window is Suspended, with no current, next or upcoming occurrence and no boundary. A one-off window is Scheduled
// before its start, Active in [start, end) and Completed from its end on; open-ended, it stays Active. A recurring
// window is Active while an occurrence covers now and Scheduled otherwise, never Completed.
//
// Occurrences of a recurring window may overlap (a duration longer than the interval). They are not merged: the
// current occurrence is the latest one started at or before now, when it has not ended. The window stays Active
// across the overlap and Current moves to each new occurrence at its start, so Current.End is always a real end.
//
// Next lists up to three occurrences starting strictly after now. The next one is Upcoming from its start minus
// Announce on (inclusive). NextBoundary is the earliest of: the end of Current, the start of Next[0], and that start
// minus Announce when still ahead.
package windows
