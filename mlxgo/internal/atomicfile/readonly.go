package atomicfile

import (
	"fmt"
	"os"
	"os/exec"
)

// MakeReadOnly makes dir refuse new files, for tests of writes into a read-only
// folder, and returns the function that undoes it. Root ignores folder permissions,
// so as root the folder is made immutable with chattr +i (ext4, xfs, btrfs); other
// users get mode 0555. The error says why neither was possible.
func MakeReadOnly(dir string) (undo func(), err error) {
	if os.Geteuid() != 0 {
		st, err := os.Stat(dir)
		if err != nil {
			return nil, err
		}
		if err := os.Chmod(dir, 0o555); err != nil {
			return nil, err
		}
		return func() { os.Chmod(dir, st.Mode().Perm()) }, nil
	}
	if out, err := exec.Command("chattr", "+i", dir).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("running as root, and chattr +i %s failed: %v %s", dir, err, out)
	}
	return func() { exec.Command("chattr", "-i", dir).Run() }, nil
}
