// Package common holds what every screen of the portal's terminal UI shares,
// whether customer or ops: the per-session Common struct, styles and key maps.
package common
