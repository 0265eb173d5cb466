package server

import (
	"io"
	"log"
)

var discardLogger = log.New(io.Discard, "", 0)
