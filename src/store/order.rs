//! A collection's creation order with positions: entries sorted by sequence number, found by
//! sequence in O(log n) and by position (the k-th live entry, or how many come before one) in
//! O(log n) through a Fenwick tree of live flags. A create always takes the next sequence, so
//! entries are appended; a delete leaves a hole that the tree counts out, and holes are dropped
//! once they outnumber the live entries (amortised O(1) per delete). This is what lets a list
//! page, a page token and a total cost O(log n + page) instead of a walk of the collection.

#[derive(Debug, Clone)]
pub(super) struct Order<V> {
    /// Ascending by sequence; `None` is a hole left by a removal.
    slots: Vec<(u64, Option<V>)>,
    /// Fenwick tree over the slots' live flags (1 live, 0 hole); `tree[i - 1]` is node `i`.
    tree: Vec<u32>,
    live: usize,
}

impl<V> Default for Order<V> {
    fn default() -> Self {
        Self { slots: Vec::new(), tree: Vec::new(), live: 0 }
    }
}

/// Holes are kept until there are at least this many (small orders never rebuild).
const MIN_HOLES_TO_COMPACT: usize = 64;

impl<V> Order<V> {
    pub fn len(&self) -> usize {
        self.live
    }

    /// Adds `value` at `seq`. Sequences normally grow, which appends in O(log n); an older one
    /// (a restored state file out of order) is placed by a rebuild.
    pub fn insert(&mut self, seq: u64, value: V) {
        match self.slots.last() {
            Some((last, _)) if *last >= seq => {
                let at = self.slots.partition_point(|(s, _)| *s < seq);
                if self.slots.get(at).is_some_and(|(s, _)| *s == seq) {
                    if self.slots[at].1.is_none() {
                        self.live += 1;
                    }
                    self.slots[at].1 = Some(value);
                } else {
                    self.slots.insert(at, (seq, Some(value)));
                    self.live += 1;
                }
                self.rebuild();
            }
            _ => {
                self.slots.push((seq, Some(value)));
                self.live += 1;
                let i = self.slots.len();
                // Node i covers (i - lowbit(i), i]: the new flag plus the nodes already below it.
                let below = self.prefix(i - 1) - self.prefix(i - lowbit(i));
                self.tree.push(1 + below as u32);
            }
        }
    }

    fn slot(&self, seq: u64) -> Option<usize> {
        let at = self.slots.partition_point(|(s, _)| *s < seq);
        self.slots.get(at).filter(|(s, v)| *s == seq && v.is_some()).map(|_| at)
    }

    pub fn get(&self, seq: u64) -> Option<&V> {
        self.slot(seq).and_then(|i| self.slots[i].1.as_ref())
    }

    pub fn get_mut(&mut self, seq: u64) -> Option<&mut V> {
        let i = self.slot(seq)?;
        self.slots[i].1.as_mut()
    }

    pub fn remove(&mut self, seq: u64) -> Option<V> {
        let i = self.slot(seq)?;
        let value = self.slots[i].1.take();
        self.add(i + 1, -1);
        self.live -= 1;
        let holes = self.slots.len() - self.live;
        if holes >= MIN_HOLES_TO_COMPACT && holes > self.live {
            self.slots.retain(|(_, v)| v.is_some());
            self.rebuild();
        }
        value
    }

    /// The slot of the `k`-th live entry (0-based), in O(log n).
    fn select(&self, k: usize) -> Option<usize> {
        if k >= self.live {
            return None;
        }
        let (mut pos, mut rest) = (0usize, k as u32);
        let mut step = self.tree.len().next_power_of_two();
        while step > 0 {
            let next = pos + step;
            if next <= self.tree.len() && self.tree[next - 1] <= rest {
                pos = next;
                rest -= self.tree[pos - 1];
            }
            step /= 2;
        }
        Some(pos)
    }

    /// Live entries from the `k`-th on (0-based).
    pub fn at_rank(&self, k: usize) -> impl Iterator<Item = (u64, &V)> {
        self.live_from(self.select(k).unwrap_or(self.slots.len()))
    }

    /// Live entries whose sequence is above `seq` (which may be gone), and how many live
    /// entries come before them.
    pub fn after(&self, seq: u64) -> (usize, impl Iterator<Item = (u64, &V)>) {
        let at = self.slots.partition_point(|(s, _)| *s <= seq);
        (self.prefix(at), self.live_from(at))
    }

    /// Every live entry in order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &V)> {
        self.live_from(0)
    }

    fn live_from(&self, slot: usize) -> impl Iterator<Item = (u64, &V)> {
        self.slots.get(slot..).unwrap_or_default().iter().filter_map(|(s, v)| v.as_ref().map(|v| (*s, v)))
    }

    /// Live entries among the first `n` slots.
    fn prefix(&self, mut n: usize) -> usize {
        let mut sum = 0usize;
        while n > 0 {
            sum += self.tree[n - 1] as usize;
            n -= lowbit(n);
        }
        sum
    }

    fn add(&mut self, mut i: usize, delta: i32) {
        while i <= self.tree.len() {
            self.tree[i - 1] = self.tree[i - 1].wrapping_add_signed(delta);
            i += lowbit(i);
        }
    }

    fn rebuild(&mut self) {
        let n = self.slots.len();
        self.tree = self.slots.iter().map(|(_, v)| u32::from(v.is_some())).collect();
        for i in 1..=n {
            let parent = i + lowbit(i);
            if parent <= n {
                self.tree[parent - 1] += self.tree[i - 1];
            }
        }
        self.live = self.slots.iter().filter(|(_, v)| v.is_some()).count();
    }
}

fn lowbit(i: usize) -> usize {
    i & i.wrapping_neg()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The order against a plain sorted list, through appends, removals (enough to compact),
    /// out-of-order inserts, ranks and cursors.
    #[test]
    fn ranks_and_cursors_match_a_plain_list() {
        let mut order = Order::default();
        let mut plain: Vec<u64> = Vec::new();
        let mut x = 7u64;
        let mut next = || {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            x >> 33
        };
        let mut seq = 0;
        for round in 0..3000 {
            match next() % 4 {
                0 if !plain.is_empty() => {
                    let s = plain.remove(next() as usize % plain.len());
                    assert_eq!(order.remove(s), Some(s * 10));
                    assert_eq!(order.remove(s), None);
                }
                1 if round % 97 == 0 && seq > 3 => {
                    // An older sequence that is not there any more (a restore).
                    let s = next() % seq;
                    if !plain.contains(&s) {
                        order.insert(s, s * 10);
                        plain.push(s);
                        plain.sort();
                    }
                }
                _ => {
                    seq += 1;
                    order.insert(seq, seq * 10);
                    plain.push(seq);
                }
            }
            assert_eq!(order.len(), plain.len());
            if !plain.is_empty() {
                let k = next() as usize % plain.len();
                assert_eq!(order.at_rank(k).next().map(|(s, _)| s), Some(plain[k]));
                let (before, mut rest) = order.after(plain[k]);
                assert_eq!((before, rest.next().map(|(s, _)| s)), (k + 1, plain.get(k + 1).copied()));
                assert_eq!(order.get(plain[k]), Some(&(plain[k] * 10)));
            }
        }
        assert!(order.at_rank(plain.len()).next().is_none());
        assert_eq!(order.iter().map(|(s, _)| s).collect::<Vec<_>>(), plain);
        assert!(order.slots.len() < 2 * plain.len() + MIN_HOLES_TO_COMPACT + 1, "holes are compacted");
    }
}
