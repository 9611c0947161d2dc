package app

import (
	"html/template"
	"net/http"
)

// returnPage is where Stripe sends the browser back after Checkout or the
// billing portal. It states what happened and points back to the terminal,
// where the session updates by itself once Stripe's webhook lands; it never
// reads the session id, so the page cannot leak or confirm anything.
var returnPage = template.Must(template.New("return").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem}p{color:#444}</style></head>
<body><h1>{{.Title}}</h1><p>{{.Body}}</p><p>You can close this tab and go back to your terminal.</p></body></html>
`))

func page(title, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_ = returnPage.Execute(w, struct{ Title, Body string }{title, body})
	}
}

func (a *App) pages(mux *http.ServeMux) {
	mux.HandleFunc("GET /checkout/success", page("Thank you: Stripe has your card",
		"Your SSH session will show it within a moment, as soon as Stripe confirms."))
	mux.HandleFunc("GET /checkout/cancel", page("Nothing was changed",
		"You left the card page before finishing. Your plan is as it was; you can ask for a new link in your terminal at any time."))
	// The billing portal returns here too.
	mux.HandleFunc("GET /{$}", page("Account portal",
		"Your account lives in your terminal: connect with ssh. Any change made in Stripe's billing pages shows in your SSH session within a moment."))
}
