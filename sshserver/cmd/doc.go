// Package cmd is the portal's script commands (`ssh host status`, …) in one
// table, as soft-serve's pkg/ssh/cmd is beside its pkg/ssh: package
// sshserver runs Table.Run for every session that names a command. The
// commands run on the customer UI's services (tui.UI.Billing and Keys) and
// say states, cards and plans in the screens' words (tui.StateText, …), so
// a command and a screen agree; they build no screen.
package cmd
