package sim

import (
	"fmt"
	"net/http"
)

// APIError is an AWS service error as the backend decides it; each wire
// layer encodes it in its own protocol's error shape.
type APIError struct {
	Code    string // AWS error code, e.g. DBInstanceNotFound
	Message string
	Status  int  // HTTP status a real endpoint answers with
	Server  bool // fault type Receiver (server side) rather than Sender
	// Messages lists every problem for errors that report several at once
	// (Route 53's InvalidChangeBatch); Message then summarises them.
	Messages []string
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

func newErr(status int, code, format string, args ...any) *APIError {
	return &APIError{Code: code, Message: fmt.Sprintf(format, args...), Status: status, Server: status >= 500}
}

// Common errors shared by several services.
func ErrInvalidParameterValue(format string, args ...any) *APIError {
	return newErr(http.StatusBadRequest, "InvalidParameterValue", format, args...)
}

func ErrInvalidParameterCombination(format string, args ...any) *APIError {
	return newErr(http.StatusBadRequest, "InvalidParameterCombination", format, args...)
}

func ErrMissingParameter(name string) *APIError {
	return newErr(http.StatusBadRequest, "MissingParameter", "The request must contain the parameter %s", name)
}

func ErrValidation(format string, args ...any) *APIError {
	return newErr(http.StatusBadRequest, "ValidationError", format, args...)
}

func ErrThrottling(op string) *APIError {
	return newErr(http.StatusBadRequest, "Throttling", "Rate exceeded for %s", op)
}

func ErrInternal(format string, args ...any) *APIError {
	return newErr(http.StatusInternalServerError, "InternalFailure", format, args...)
}

func ErrServiceUnavailable(format string, args ...any) *APIError {
	return newErr(http.StatusServiceUnavailable, "ServiceUnavailable", format, args...)
}

// NewAPIError builds a service-specific error; services keep their own
// constructors next to their backend code.
func NewAPIError(status int, code, format string, args ...any) *APIError {
	return newErr(status, code, format, args...)
}
