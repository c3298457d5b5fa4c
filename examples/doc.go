// Package examples holds the same small CRUD API written idiomatically with
// Flask (flask/) and with Django (django/), for trying wsgibench on apps
// written as users write them. Its tests run both through wsgibench run
// and wsgibench check.
package examples
