// Package ops is the portal's ops view: the terminal screens an admin gets
// instead of the customer UI when the SSH session authenticated with a key
// from the admin keys file (package adminkeys; the gate is sshserver.Config.Admins
// and Ops re-checks it).
//
// Screens, one file each, every one a common.Component with its keys
// taken from Common.Keys: the accounts table (accounts.go), an account's
// detail with its actions (detail.go), the summary of states, trials and
// revenue (summary.go), the webhook log with retries and reconciler drift
// (webhooks.go), in sandbox mode the sandbox clock (clock.go), the audit
// log a page at a time (audit.go) and the mail outbox with re-send
// (mail.go). The root (model.go) builds them all; a screen asks it for the
// detail or a confirmation dialog by message (openDetailMsg,
// closeDetailMsg, openDialog).
//
// The accounts table reads an in-memory index shared by every admin session
// (index.go), loaded once and then kept in step by the store's change feed
// (Ops.Run). It holds one sorted order per column, updated incrementally, so
// filtering, searching, sorting and paging 100,000 accounts is one linear
// pass per keystroke and never a store scan.
//
// Every action (extend a trial, resync, change plan, move to free, cancel
// at period end, re-send a notice or a mail, retry a failed event, advance the sandbox
// clock) is confirmed with an explicit "y", goes through the same billing
// calls as the customer's own (the Billing interface, satisfied by
// *billing.Service), and is written to the store's audit log with the
// admin's key fingerprint, the time, the action and the account before and
// after, failures included. Customer sessions see the result live through
// the same change feed.
package ops
