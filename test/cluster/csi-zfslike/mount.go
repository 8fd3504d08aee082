package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Publish mounts a dataset for a pod: the dataset's overlay (its upper layer over its frozen
// lowers) at its own mountpoint once, then a bind mount of that at the kubelet's target path.
func (p *Pool) Publish(ds, target string, readonly bool) error {
	return p.timed("publish", ds, func() error {
		d := p.st.Datasets[ds]
		if d == nil {
			return errNotFound
		}
		if owner, ok := p.st.Publishes[target]; ok && owner == ds && isMountPoint(target) {
			return nil
		}
		if err := p.mountDataset(d); err != nil {
			return err
		}
		if err := os.MkdirAll(target, 0o750); err != nil {
			return err
		}
		if err := unix.Mount(p.mountpoint(ds), target, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind mount %s at %s: %w", ds, target, err)
		}
		if readonly {
			if err := unix.Mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
				_ = unix.Unmount(target, 0)
				return fmt.Errorf("read-only remount %s: %w", target, err)
			}
		}
		p.st.Publishes[target] = ds
		return nil
	})
}

// Unpublish unmounts the target and, when no pod uses the dataset any more, its overlay.
func (p *Pool) Unpublish(target string) error {
	return p.timed("unpublish", target, func() error {
		if isMountPoint(target) {
			if err := unix.Unmount(target, 0); err != nil {
				return fmt.Errorf("unmount %s: %w", target, err)
			}
		}
		if err := os.Remove(target); err != nil && !os.IsNotExist(err) {
			return err
		}
		ds, ok := p.st.Publishes[target]
		if !ok {
			return nil
		}
		delete(p.st.Publishes, target)
		for _, other := range p.st.Publishes {
			if other == ds {
				return nil
			}
		}
		if mp := p.mountpoint(ds); isMountPoint(mp) {
			if err := unix.Unmount(mp, 0); err != nil {
				return fmt.Errorf("unmount %s: %w", mp, err)
			}
		}
		return nil
	})
}

// mountDataset mounts the dataset's overlay at its mountpoint (no-op when mounted). Layers are
// passed one by one ("lowerdir+", new mount API), so a long lineage is not limited by the
// one-page option string of mount(2).
func (p *Pool) mountDataset(d *Dataset) error {
	mp := p.mountpoint(d.Name)
	if isMountPoint(mp) {
		return nil
	}
	work := p.workDir(d.Name)
	for _, dir := range []string{mp, work} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	lowers := make([]string, 0, len(d.Lowers)+1)
	for _, l := range d.Lowers {
		lowers = append(lowers, p.layerDir(l))
	}
	if len(lowers) == 0 {
		lowers = append(lowers, p.emptyLayer())
	}
	fd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return fmt.Errorf("fsopen overlay: %w", err)
	}
	defer unix.Close(fd)
	set := func(k, v string) error {
		if err := unix.FsconfigSetString(fd, k, v); err != nil {
			return fmt.Errorf("overlay %s=%s: %w", k, v, err)
		}
		return nil
	}
	for _, l := range lowers {
		if err := set("lowerdir+", l); err != nil {
			return err
		}
	}
	if err := set("upperdir", p.layerDir(d.Upper)); err != nil {
		return err
	}
	if err := set("workdir", work); err != nil {
		return err
	}
	if err := set("source", "zfs-like:"+d.Pool+"/"+d.Name); err != nil {
		return err
	}
	if err := unix.FsconfigCreate(fd); err != nil {
		return fmt.Errorf("overlay for %s: %w", d.Name, err)
	}
	mfd, err := unix.Fsmount(fd, unix.FSMOUNT_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("fsmount %s: %w", d.Name, err)
	}
	defer unix.Close(mfd)
	if err := unix.MoveMount(mfd, "", unix.AT_FDCWD, mp, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("move_mount %s: %w", mp, err)
	}
	return nil
}

// isMountPoint: path is a mount point (from /proc/self/mountinfo).
func isMountPoint(path string) bool {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	clean := filepath.Clean(path)
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && unescapeMount(f[4]) == clean {
			return true
		}
	}
	return false
}

func unescapeMount(s string) string {
	r := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)
	return r.Replace(s)
}
