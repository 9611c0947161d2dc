package sandbox

import (
	"fmt"
	"net/http"
)

// apiError is a Stripe error body: {"error": {...}} with its HTTP status.
type apiError struct {
	Status      int    `json:"-"`
	Type        string `json:"type"`
	Code        string `json:"code,omitempty"`
	DeclineCode string `json:"decline_code,omitempty"`
	Message     string `json:"message"`
	Param       string `json:"param,omitempty"`
	DocURL      string `json:"doc_url,omitempty"`
}

func (e *apiError) Error() string { return e.Type + ": " + e.Message }

func invalidRequest(param, format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Type: "invalid_request_error", Param: param, Message: fmt.Sprintf(format, args...)}
}

func paramMissing(param string) *apiError {
	e := invalidRequest(param, "Missing required param: %s.", param)
	e.Code = "parameter_missing"
	return e
}

// noSuch is the 404 for a missing object addressed by the URL path.
func noSuch(kind, id string) *apiError {
	return &apiError{Status: http.StatusNotFound, Type: "invalid_request_error", Code: "resource_missing",
		Message: fmt.Sprintf("No such %s: '%s'", kind, id), Param: "id"}
}

// noSuchParam is the 400 for a missing object named by a request parameter.
func noSuchParam(kind, id, param string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Type: "invalid_request_error", Code: "resource_missing",
		Message: fmt.Sprintf("No such %s: '%s'", kind, id), Param: param}
}

func cardDeclined(declineCode, message string) *apiError {
	return &apiError{Status: http.StatusPaymentRequired, Type: "card_error", Code: "card_declined", DeclineCode: declineCode, Message: message}
}

func idempotencyMismatch(key string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Type: "idempotency_error",
		Message: fmt.Sprintf("Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '%s' if you meant to execute a different request.", key)}
}

func internalError(err error) *apiError {
	return &apiError{Status: http.StatusInternalServerError, Type: "api_error", Message: "The offline sandbox failed to store the change: " + err.Error()}
}
