// Package kernel keeps state between notebook cells.
//
// GoNB compiles every cell into a fresh program and runs it in a new process, so no variable
// survives from one cell to the next and package-level initialisers run again in every cell.
// This package gives a notebook a small, explicit store instead: named values written to files
// in the notebook's state folder and read back by a later cell.
//
//	// cell 1
//	kernel.Save("config", cfg)
//	// cell 2, a new process
//	var cfg Config
//	if ok, err := kernel.Load("config", &cfg); err != nil || !ok { ... }
//
// Values are stored as JSON (NAME.json), which keeps them readable and lets a later cell load
// them into any compatible type; a value JSON cannot encode (NaN or ±Inf floats) is stored with
// encoding/gob instead (NAME.gob), which then needs the same type on Load. Writes are atomic:
// a value is written to a temporary file that is renamed over the old one, so a cell
// interrupted mid-write leaves the previous value intact.
//
// The folder is $MLXGO_STATE_DIR when set, else ".mlxgo_state" in the current working
// directory, which for a GoNB cell is the notebook's directory. Names are made of letters,
// digits, '_' and '-'; each name owns the files NAME.<ext> in the folder. Path and SaveWith let
// other formats (such as arrays and pytrees in safetensors files) live under the same names.
package kernel

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// StateDirEnv names the environment variable that overrides the state folder.
const StateDirEnv = "MLXGO_STATE_DIR"

// DefaultStateDir is the state folder, relative to the working directory, used when
// $MLXGO_STATE_DIR is not set.
const DefaultStateDir = ".mlxgo_state"

// Dir returns the state folder: $MLXGO_STATE_DIR, or DefaultStateDir under the current working
// directory, as an absolute path when the working directory is known. It may not exist yet.
func Dir() string {
	d := os.Getenv(StateDirEnv)
	if d == "" {
		d = DefaultStateDir
	}
	if abs, err := filepath.Abs(d); err == nil {
		return abs
	}
	return d
}

// ValidName reports whether name can name a stored value: 1 to 128 letters, digits, '_' or
// '-', not starting with '-'.
func ValidName(name string) bool {
	if name == "" || len(name) > 128 || name[0] == '-' {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

func checkName(name string) error {
	if !ValidName(name) {
		return fmt.Errorf("kernel: invalid state name %q: use letters, digits, '_' and '-'", name)
	}
	return nil
}

func checkExt(ext string) (string, error) {
	ext = strings.TrimPrefix(ext, ".")
	if !ValidName(ext) {
		return "", fmt.Errorf("kernel: invalid file extension %q", ext)
	}
	return ext, nil
}

// Path returns the file that stores name in the given format, Dir()/NAME.EXT (ext with or
// without its leading dot), creating the state folder if needed. It is the hook for formats
// other than Save's, for example:
//
//	p, err := kernel.Path("adapters", "safetensors")
//
// Has, Names and Delete see files made this way under the same name.
func Path(name, ext string) (string, error) {
	if err := checkName(name); err != nil {
		return "", err
	}
	ext, err := checkExt(ext)
	if err != nil {
		return "", err
	}
	dir := Dir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("kernel: creating state folder: %w", err)
	}
	return filepath.Join(dir, name+"."+ext), nil
}

// SaveWith stores name in the given format by calling write with a temporary file in the
// state folder, which is renamed to Path(name, ext) only when write and closing succeed. Other
// files of the same name (other formats) are removed, so a name holds one value.
func SaveWith(name, ext string, write func(w io.Writer) error) error {
	p, err := Path(name, ext)
	if err != nil {
		return err
	}
	if err := writeAtomic(p, write); err != nil {
		return fmt.Errorf("kernel: saving %q: %w", name, err)
	}
	files, err := files(name)
	if err != nil {
		return err
	}
	for _, f := range files {
		if f != p {
			if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("kernel: saving %q: %w", name, err)
			}
		}
	}
	return nil
}

// writeAtomic writes path through a temporary file in the same folder and a rename; on
// failure the temporary file is removed, path is left as it was, and the error names path.
func writeAtomic(path string, write func(w io.Writer) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
			err = fmt.Errorf("write %s: %w", path, err)
		}
	}()
	if err = write(f); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Save stores v under name, replacing any earlier value of that name. v is encoded as JSON;
// when JSON cannot encode it (NaN or ±Inf floats), with encoding/gob.
func Save(name string, v any) error {
	if err := checkName(name); err != nil {
		return err
	}
	data, err := json.MarshalIndent(v, "", "  ")
	ext := "json"
	if err != nil {
		var unsupported *json.UnsupportedValueError
		if !errors.As(err, &unsupported) {
			return fmt.Errorf("kernel: saving %q: %w", name, err)
		}
		var buf bytes.Buffer
		if gerr := gob.NewEncoder(&buf).Encode(v); gerr != nil {
			return fmt.Errorf("kernel: saving %q: JSON: %v; gob: %w", name, err, gerr)
		}
		data, ext = buf.Bytes(), "gob"
	} else {
		data = append(data, '\n')
	}
	return SaveWith(name, ext, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// Load reads the value saved under name by Save into v, which must be a pointer. It returns
// false and no error when Save stored nothing under that name (files written through Path or
// SaveWith are for their own readers; Has sees them).
func Load(name string, v any) (bool, error) {
	if err := checkName(name); err != nil {
		return false, err
	}
	dir := Dir()
	for _, ext := range []string{"json", "gob"} {
		p := filepath.Join(dir, name+"."+ext)
		data, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("kernel: loading %q: %w", name, err)
		}
		if ext == "json" {
			err = json.Unmarshal(data, v)
		} else {
			err = gob.NewDecoder(bytes.NewReader(data)).Decode(v)
		}
		if err != nil {
			return false, fmt.Errorf("kernel: loading %q from %s: %w", name, p, err)
		}
		return true, nil
	}
	return false, nil
}

// files lists the files that store name, in any format.
func files(name string) ([]string, error) {
	dir := Dir()
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("kernel: listing state: %w", err)
	}
	var fs []string
	for _, e := range entries {
		n, ext, ok := strings.Cut(e.Name(), ".")
		if ok && n == name && ValidName(ext) && !e.IsDir() {
			fs = append(fs, filepath.Join(dir, e.Name()))
		}
	}
	return fs, nil
}

// Has reports whether a value is stored under name, in any format.
func Has(name string) bool {
	if !ValidName(name) {
		return false
	}
	fs, err := files(name)
	return err == nil && len(fs) > 0
}

// Delete removes the value stored under name, in every format. Deleting a name that holds
// nothing is not an error.
func Delete(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	fs, err := files(name)
	if err != nil {
		return err
	}
	for _, f := range fs {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("kernel: deleting %q: %w", name, err)
		}
	}
	return nil
}

// Names returns the names that hold a value, sorted. A missing state folder holds none.
func Names() ([]string, error) {
	entries, err := os.ReadDir(Dir())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("kernel: listing state: %w", err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		name, ext, ok := strings.Cut(e.Name(), ".")
		if ok && ValidName(name) && ValidName(ext) && !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names, nil
}

// Clear deletes every stored value, for a notebook that starts over.
func Clear() error {
	names, err := Names()
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := Delete(n); err != nil {
			return err
		}
	}
	return nil
}
