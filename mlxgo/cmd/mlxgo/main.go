// Command mlxgo fine-tunes, fuses and runs language models with the flags of mlx-lm:
//
//	mlxgo lora     --model DIR --train --data DIR [--iters N ...]   (mlx_lm.lora)
//	mlxgo fuse     --model DIR --adapter-path DIR --save-path DIR [--dequantize] [--export-gguf] (mlx_lm.fuse)
//	mlxgo generate --model DIR [--adapter-path DIR] --prompt TEXT   (mlx_lm.generate)
//	mlxgo convert  --hf-path DIR --mlx-path DIR -q [--q-bits 2-8 --q-group-size 64 --quant-predicate mixed_3_6] | --dequantize (mlx_lm.convert)
//	mlxgo server   --model DIR [--adapter-path DIR] [--host 127.0.0.1] [--port 8080] (mlx_lm.server)
//	mlxgo tokenize --model DIR (--text T | --file F) [--chat] [--no-special]
//	mlxgo download org/name[@revision]                                (huggingface-cli download)
//	mlxgo launch   -n N [--hosts a,b] -- lora ...                  (mlx.launch; or mpirun -np N mlxgo lora ...)
//
// Wherever a model or adapter folder is expected, a Hub id org/name[@revision] works too.
package main

import (
	"fmt"
	"os"

	"github.com/mlxgo/mlxgo/mlxgo/distributed"
)

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "lora":
		err = runLora(os.Args[2:])
	case "fuse":
		err = runFuse(os.Args[2:])
	case "generate":
		err = runGenerate(os.Args[2:])
	case "convert":
		err = runConvert(os.Args[2:])
	case "bench":
		err = runBench(os.Args[2:])
	case "server":
		err = runServer(os.Args[2:])
	case "tokenize":
		err = runTokenize(os.Args[2:])
	case "download":
		err = runDownload(os.Args[2:])
	case "launch":
		err = runLaunch(os.Args[2:])
	case "-h", "--help", "help":
		usage()
		return
	default:
		fmt.Fprintf(os.Stderr, "mlxgo: unknown command %q\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	if err == nil {
		// A rank started by mpirun must end MPI before exiting (nothing to do otherwise).
		err = distributed.Finalize()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mlxgo:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, `usage: mlxgo <command> [flags]

commands:
  lora      fine-tune with LoRA/DoRA (flags of mlx_lm.lora)
  fuse      merge an adapter into the model (flags of mlx_lm.fuse)
  generate  generate text (flags of mlx_lm.generate)
  convert   save a model, quantized with -q or de-quantized (flags of mlx_lm.convert)
  server    serve the model with the OpenAI API (flags of mlx_lm.server)
  tokenize  print token ids and tokens as JSON
  download  fetch a Hub model (org/name[@revision]) into the Hugging Face cache
  bench     time LoRA training steps on a preset model shape (JSON)
  launch    run a command on N ranks through mpirun: mlxgo launch -n 2 -- lora ...

run "mlxgo <command> -h" for a command's flags`)
}
