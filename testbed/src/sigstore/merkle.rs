//! RFC 6962 Merkle tree hashing: leaf = SHA-256(0x00 ‖ data), node = SHA-256(0x01 ‖ left ‖ right), split at the
//! largest power of two below the size. Rekor's tree (Trillian) is exactly this.
//!
//! Proofs are built with the RFC 6962 §2.1.1 recursion (`PATH(m, D[n])`) and verified with the RFC 9162 §2.1.3.2
//! loop, two independent readings of the same structure that the tests hold against each other and against the
//! Certificate Transparency reference vectors.

use sha2::{Digest as _, Sha256};

/// A 32-byte SHA-256 tree hash.
pub(crate) type Hash = [u8; 32];

/// The hash of a leaf holding `data`.
pub(crate) fn leaf_hash(data: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x00]);
    hasher.update(data);
    hasher.finalize().into()
}

/// The hash of an interior node.
fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x01]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// The largest power of two strictly below `n` (`n` ≥ 2).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// `MTH(D[n])` over already-hashed leaves; the empty tree hashes to SHA-256 of nothing.
pub(crate) fn root(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => Sha256::digest([]).into(),
        [only] => *only,
        _ => {
            let k = split(leaves.len());
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// `PATH(m, D[n])`: the audit path of leaf `m`, bottom-up. Empty for a one-leaf tree or an out-of-range index.
pub(crate) fn inclusion_path(index: usize, leaves: &[Hash]) -> Vec<Hash> {
    if leaves.len() <= 1 || index >= leaves.len() {
        return Vec::new();
    }
    let k = split(leaves.len());
    if index < k {
        let mut path = inclusion_path(index, &leaves[..k]);
        path.push(root(&leaves[k..]));
        path
    } else {
        let mut path = inclusion_path(index - k, &leaves[k..]);
        path.push(root(&leaves[..k]));
        path
    }
}

/// Whether `path` proves `leaf` is entry `index` of the tree of `size` leaves whose root is `expected_root`.
pub(crate) fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    path: &[Hash],
    expected_root: &Hash,
) -> bool {
    path_root(leaf, index, size, path).is_some_and(|root| root == *expected_root)
}

/// The root `path` leads to from `leaf` at `index` of `size` (all zeros when the path cannot be walked), for error
/// messages.
pub(crate) fn root_from_path(leaf: &Hash, index: u64, size: u64, path: &[Hash]) -> Hash {
    path_root(leaf, index, size, path).unwrap_or([0; 32])
}

/// RFC 9162 §2.1.3.2: the root an audit path computes, if it has the right length for `index` and `size`.
fn path_root(leaf: &Hash, index: u64, size: u64, path: &[Hash]) -> Option<Hash> {
    if index >= size {
        return None;
    }
    let (mut f_n, mut s_n) = (index, size - 1);
    let mut r = *leaf;
    for p in path {
        if s_n == 0 {
            return None;
        }
        if f_n & 1 == 1 || f_n == s_n {
            r = node_hash(p, &r);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    (s_n == 0).then_some(r)
}

/// An append-only tree of leaf hashes.
#[derive(Debug, Default)]
pub(crate) struct Tree {
    leaves: Vec<Hash>,
}

impl Tree {
    /// Appends a leaf holding `data`; returns its index and leaf hash.
    pub(crate) fn append(&mut self, data: &[u8]) -> (usize, Hash) {
        let hash = leaf_hash(data);
        self.leaves.push(hash);
        (self.leaves.len() - 1, hash)
    }

    /// How many leaves.
    pub(crate) fn size(&self) -> usize {
        self.leaves.len()
    }

    /// The current root.
    pub(crate) fn root(&self) -> Hash {
        root(&self.leaves)
    }

    /// The audit path of leaf `index` in the current tree.
    pub(crate) fn inclusion_path(&self, index: usize) -> Vec<Hash> {
        inclusion_path(index, &self.leaves)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Certificate Transparency reference leaves (RFC 6962 test data).
    const CT_LEAVES: [&str; 8] = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ];
    /// Their tree heads for sizes 0 through 8.
    const CT_ROOTS: [&str; 9] = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    fn ct_tree(size: usize) -> Vec<Hash> {
        CT_LEAVES[..size]
            .iter()
            .map(|data| leaf_hash(&hex::decode(data).unwrap()))
            .collect()
    }

    fn hexes(path: &[Hash]) -> Vec<String> {
        path.iter().map(hex::encode).collect()
    }

    #[test]
    fn roots_match_the_ct_reference_vectors() {
        for (size, expected) in CT_ROOTS.iter().enumerate() {
            assert_eq!(hex::encode(root(&ct_tree(size))), *expected, "size {size}");
        }
    }

    #[test]
    fn audit_paths_match_the_ct_reference_vectors() {
        let tree = ct_tree(8);
        assert_eq!(
            hexes(&inclusion_path(0, &tree)),
            [
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ]
        );
        assert_eq!(
            hexes(&inclusion_path(5, &tree)),
            [
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ]
        );
    }

    #[test]
    fn every_path_verifies_and_tampering_fails_in_every_shape() {
        let leaves: Vec<Hash> = (0..37u8).map(|i| leaf_hash(&[i, i ^ 0x5a])).collect();
        for size in 1..=leaves.len() {
            let tree = &leaves[..size];
            let root = root(tree);
            for index in 0..size {
                let path = inclusion_path(index, tree);
                let (i, n) = (index as u64, size as u64);
                assert!(verify_inclusion(&tree[index], i, n, &path, &root));
                // Wrong index, out-of-range index, wrong leaf, a flipped proof byte, a dropped or extra hash. (A
                // wrong size alone can verify — the root of size 3 is also what size 4's shape computes for leaf 0
                // with size 3's path — which is why the checkpoint signs size and root together.)
                assert!(!verify_inclusion(&tree[index], i + 1, n, &path, &root));
                assert!(!verify_inclusion(&tree[index], n, n, &path, &root));
                assert!(!verify_inclusion(&leaf_hash(b"x"), i, n, &path, &root));
                if let Some(first) = path.first() {
                    let mut bent = path.clone();
                    bent[0] = {
                        let mut h = *first;
                        h[0] ^= 1;
                        h
                    };
                    assert!(!verify_inclusion(&tree[index], i, n, &bent, &root));
                    assert!(!verify_inclusion(&tree[index], i, n, &path[1..], &root));
                }
                let mut longer = path.clone();
                longer.push(root);
                assert!(!verify_inclusion(&tree[index], i, n, &longer, &root));
            }
        }
    }

    #[test]
    fn the_tree_grows_and_proves_against_its_current_root() {
        let mut tree = Tree::default();
        for i in 0..5u8 {
            let (index, hash) = tree.append(&[i]);
            assert_eq!(index, usize::from(i));
            assert_eq!(hash, leaf_hash(&[i]));
        }
        assert_eq!(tree.size(), 5);
        let path = tree.inclusion_path(2);
        assert!(!path.is_empty());
        assert!(verify_inclusion(
            &leaf_hash(&[2]),
            2,
            5,
            &path,
            &tree.root()
        ));
    }
}
