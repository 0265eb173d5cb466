package cpu

// ParseStreams is parseStreams, for the external tests.
var ParseStreams = parseStreams
