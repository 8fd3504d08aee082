package main

import (
	"errors"
	"log"
	"os"
	"path/filepath"
)

// The trash: folders the pool no longer refers to (layers, overlay work dirs) are renamed into
// <dir>/trash under the pool lock, which is O(1) in the same file system, and removed from there
// by one background sweeper that never takes the lock. A large dataset's removal therefore holds
// up no other operation, much as ZFS frees a destroyed dataset's blocks in the background
// (feature async_destroy). The state (state.json, layers/) changes at once; only the disk space
// comes back later. Whatever a crash left in the trash is removed after the next start.

func (p *Pool) trashDir() string { return filepath.Join(p.dir, "trash") }

// discard moves path into the trash (nothing when it does not exist) and wakes the sweeper. It
// runs under the pool lock. When the rename fails the folder is removed at once, under the lock.
func (p *Pool) discard(path string) {
	if _, err := os.Lstat(path); errors.Is(err, os.ErrNotExist) {
		return
	}
	bin, err := os.MkdirTemp(p.trashDir(), filepath.Base(path)+"-")
	if err == nil {
		if err = os.Rename(path, filepath.Join(bin, filepath.Base(path))); err == nil {
			p.wakeSweeper()
			return
		}
		_ = os.Remove(bin)
	}
	log.Printf("trash: cannot move %s into %s (%v): removing it in place", path, p.trashDir(), err)
	if err := p.remove(path); err != nil {
		log.Printf("trash: remove %s: %v", path, err)
	}
}

// wakeSweeper makes the sweeper look at the trash once more (without waiting for it).
func (p *Pool) wakeSweeper() {
	if p.closed {
		return
	}
	select {
	case p.wake <- struct{}{}:
	default: // already woken: it lists the trash afresh before each round
	}
}

// sweep empties the trash every time it is woken, until Close.
func (p *Pool) sweep() {
	defer close(p.swept)
	for range p.wake {
		entries, err := os.ReadDir(p.trashDir())
		if err != nil {
			log.Printf("trash: %v", err)
			continue
		}
		for _, e := range entries {
			path := filepath.Join(p.trashDir(), e.Name())
			if err := p.remove(path); err != nil {
				log.Printf("trash: remove %s: %v", path, err)
			}
		}
	}
}

// Close stops the sweeper once it has emptied the trash of what it was woken for. The pool still
// works afterwards, but nothing empties its trash any more (only tests call it).
func (p *Pool) Close() {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.wake)
	}
	p.mu.Unlock()
	<-p.swept
}

// trashOrphans moves into the trash what a crash left behind: layer folders no dataset or
// snapshot refers to (the state was saved, the folder not yet moved) and overlay work dirs of
// datasets that no longer exist. Called by OpenPool before the pool is used.
func (p *Pool) trashOrphans() error {
	refs := p.layerRefs()
	layers, err := os.ReadDir(filepath.Join(p.dir, "layers"))
	if err != nil {
		return err
	}
	for _, e := range layers {
		if refs[e.Name()] == 0 {
			p.discard(p.layerDir(e.Name()))
		}
	}
	work, err := os.ReadDir(filepath.Join(p.dir, "work"))
	if err != nil {
		return err
	}
	for _, e := range work {
		if p.st.Datasets[e.Name()] == nil {
			p.discard(p.workDir(e.Name()))
		}
	}
	return nil
}
