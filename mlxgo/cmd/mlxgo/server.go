package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/mlxgo/mlxgo/mlxgo/lm/server"
)

// runServer serves the model with the OpenAI API until SIGINT or SIGTERM, as
// mlx_lm.server does.
func runServer(args []string) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	model := fs.String("model", "", "model folder or Hub id org/name[@revision]")
	adapters := fs.String("adapter-path", "", "optional adapter folder or Hub id")
	host := fs.String("host", "127.0.0.1", "address to listen on")
	port := fs.Int("port", 8080, "port to listen on (0: any free port)")
	maxTokens := fs.Int("max-tokens", 512, "default max_tokens of a request")
	temp := fs.Float64("temp", 0, "default sampling temperature (0: greedy)")
	topP := fs.Float64("top-p", 1, "default nucleus sampling")
	dtype := computeDtypeFlag(fs, "compute dtype of the weights")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *model == "" {
		return fmt.Errorf("--model is required")
	}
	m, tok, err := loadForInference(*model, *adapters, *dtype)
	if err != nil {
		return err
	}
	s := server.New(m, tok, *model)
	s.MaxTokens, s.Temp, s.TopP = *maxTokens, *temp, *topP
	ln, err := net.Listen("tcp", net.JoinHostPort(*host, strconv.Itoa(*port)))
	if err != nil {
		return err
	}
	if ip := net.ParseIP(*host); *host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		fmt.Fprintf(os.Stderr, "WARNING: listening on %s, reachable from other machines; the server has no authentication. Use --host 127.0.0.1 to serve this machine only.\n", *host)
	}
	addr := ln.Addr().(*net.TCPAddr)
	fmt.Fprintf(os.Stderr, "Starting httpd at %s on port %d...\n", addr.IP, addr.Port)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := s.Serve(ctx, ln); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "Server stopped.")
	return nil
}
