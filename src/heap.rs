//! The allocator of the npm package's `no_std` wasm: power-of-two size classes with one free list
//! each, carved from pages the module grows. A freed block is reused by the next allocation of its
//! class, so memory stays at its peak and never grows with the number of requests; the whole
//! allocator is a few hundred bytes of wasm, where dlmalloc is about 4.5 KB.
//!
//! The decision core allocates little: one session per client, a table of them, and the small
//! queues of the `maxConcurrent` cap.

use core::cell::UnsafeCell;

/// The smallest class: 8 bytes (room for the free list's link).
const MIN_CLASS: usize = 3;
/// Classes up to 2^31 bytes (all of a 32-bit address space).
const CLASSES: usize = 32 - MIN_CLASS;
/// Every block is aligned to this much at least; a larger alignment is rounded into the size.
const ALIGN: usize = 8;

/// Free lists and the bump region, for memory that `grow(pages)` hands out in 64 KiB pages.
pub(crate) struct Heap<G: Fn(usize) -> Option<usize>> {
    state: UnsafeCell<State>,
    grow: G,
}

#[derive(Default)]
struct State {
    free: [usize; CLASSES],
    next: usize,
    end: usize,
}

const PAGE: usize = 65_536;

impl<G: Fn(usize) -> Option<usize>> Heap<G> {
    /// A heap whose `grow(pages)` adds pages and returns the address of the first, or `None`.
    pub(crate) const fn new(grow: G) -> Self {
        Heap { state: UnsafeCell::new(State { free: [0; CLASSES], next: 0, end: 0 }), grow }
    }

    /// The class of a request: its size and alignment rounded up to a power of two.
    fn class(size: usize, align: usize) -> Option<usize> {
        if align > PAGE {
            return None; // blocks are aligned to at most a page
        }
        let need = size.max(align).max(1 << MIN_CLASS).checked_next_power_of_two()?;
        let class = need.trailing_zeros() as usize - MIN_CLASS;
        (class < CLASSES).then_some(class)
    }

    /// # Safety
    /// Single-threaded use only, as on wasm32 without threads.
    pub(crate) unsafe fn alloc(&self, size: usize, align: usize) -> *mut u8 {
        let Some(class) = Self::class(size, align) else { return core::ptr::null_mut() };
        let s = &mut *self.state.get();
        let head = s.free[class];
        if head != 0 {
            s.free[class] = *(head as *const usize);
            return head as *mut u8;
        }
        let bytes = 1usize << (class + MIN_CLASS);
        // Blocks of a class are aligned to their size (up to a page), so any alignment they were
        // rounded up from holds when they are reused.
        let align = bytes.clamp(ALIGN, PAGE);
        let mut start = (s.next + align - 1) & !(align - 1);
        if start + bytes > s.end || s.end == 0 {
            let pages = bytes.div_ceil(PAGE);
            let Some(base) = (self.grow)(pages) else { return core::ptr::null_mut() };
            if base != s.end {
                s.next = base;
            }
            s.end = base + pages * PAGE;
            start = (s.next + align - 1) & !(align - 1);
            if start + bytes > s.end {
                return core::ptr::null_mut();
            }
        }
        s.next = start + bytes;
        start as *mut u8
    }

    /// # Safety
    /// `ptr` came from [`Heap::alloc`] with the same `size` and `align`; single-threaded use only.
    pub(crate) unsafe fn dealloc(&self, ptr: *mut u8, size: usize, align: usize) {
        if let Some(class) = Self::class(size, align) {
            let s = &mut *self.state.get();
            *(ptr as *mut usize) = s.free[class];
            s.free[class] = ptr as usize;
        }
    }

    /// Whether a block allocated for `old` bytes also holds `new` bytes (same class).
    pub(crate) fn fits(old: usize, new: usize, align: usize) -> bool {
        Self::class(old, align) == Self::class(new, align)
    }
}

#[cfg(all(target_arch = "wasm32", not(feature = "std")))]
mod global {
    use super::Heap;
    use core::alloc::{GlobalAlloc, Layout};

    fn grow(pages: usize) -> Option<usize> {
        let old = core::arch::wasm32::memory_grow(0, pages);
        (old != usize::MAX).then(|| old * super::PAGE)
    }

    struct Global(Heap<fn(usize) -> Option<usize>>);

    // SAFETY: wasm32 without threads: one thread only.
    unsafe impl Sync for Global {}

    #[global_allocator]
    static ALLOCATOR: Global = Global(Heap::new(grow));

    unsafe impl GlobalAlloc for Global {
        unsafe fn alloc(&self, l: Layout) -> *mut u8 {
            self.0.alloc(l.size(), l.align())
        }

        unsafe fn dealloc(&self, ptr: *mut u8, l: Layout) {
            self.0.dealloc(ptr, l.size(), l.align())
        }

        unsafe fn realloc(&self, ptr: *mut u8, l: Layout, new: usize) -> *mut u8 {
            if Heap::<fn(usize) -> Option<usize>>::fits(l.size(), new, l.align()) {
                return ptr;
            }
            let to = self.0.alloc(new, l.align());
            if !to.is_null() {
                core::ptr::copy_nonoverlapping(ptr, to, l.size().min(new));
                self.0.dealloc(ptr, l.size(), l.align());
            }
            to
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::vec::Vec;

    /// A heap over a leaked arena of `pages` pages.
    fn heap(pages: usize) -> Heap<impl Fn(usize) -> Option<usize>> {
        let arena: &'static mut [u8] = Vec::leak(std::vec![0u8; (pages + 1) * PAGE]);
        let base = (arena.as_mut_ptr() as usize + PAGE - 1) & !(PAGE - 1);
        let used = Cell::new(0);
        Heap::new(move |n| {
            (used.get() + n <= pages).then(|| {
                used.set(used.get() + n);
                base + (used.get() - n) * PAGE
            })
        })
    }

    #[test]
    fn freed_blocks_are_reused_so_a_steady_load_never_grows() {
        let h = heap(4);
        unsafe {
            let first: Vec<*mut u8> = (0..100).map(|i| h.alloc(24 + i % 8, 8)).collect();
            for p in &first {
                h.dealloc(*p, 30, 8);
            }
            for _ in 0..10_000 {
                let p = h.alloc(30, 8);
                assert!(first.contains(&p), "a freed block comes back");
                h.dealloc(p, 30, 8);
            }
        }
    }

    #[test]
    fn blocks_are_aligned_distinct_and_large_ones_take_fresh_pages() {
        let h = heap(8);
        unsafe {
            let a = h.alloc(1, 1);
            let b = h.alloc(100, 16);
            let c = h.alloc(70_000, 8);
            assert!(!a.is_null() && !b.is_null() && !c.is_null());
            assert_eq!(b as usize % 16, 0);
            assert_eq!(c as usize % 8, 0);
            assert!((a as usize + 8 <= b as usize) || (b as usize + 128 <= a as usize));
            assert!(h.alloc(usize::MAX, 8).is_null(), "no class that large");
            assert!(h.alloc(1 << 20, 8).is_null(), "out of pages: null, not a panic");
        }
        assert!(Heap::<fn(usize) -> Option<usize>>::fits(20, 31, 8));
        assert!(!Heap::<fn(usize) -> Option<usize>>::fits(20, 33, 8));
    }
}
