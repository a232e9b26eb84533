//! Refuses a SQLite ledger on a network or shared file system.
//!
//! SQLite's locks (and in WAL mode its shared-memory wal-index) only work
//! between processes of one kernel: on NFS, SMB, a FUSE mount or a cluster
//! file system, shards on two machines can corrupt the ledger or give the
//! same document number twice. The file system of the ledger's folder is
//! read with `statfs(2)` and its magic number classified here; a shared one
//! is refused with a message pointing to the PostgreSQL ledger.
//!
//! Overlay (`overlayfs`, a container's root file system) is accepted: its
//! upper layer is the node's local disk and every process writing it runs
//! under one kernel. A volume shared between pods is not an overlay but its
//! own mount (NFS, CephFS, a CSI FUSE driver …), which is refused by its
//! own type.
//!
//! Uses only `libc`; a leaf of the ledger.

use std::path::Path;

/// The hidden environment variable that replaces the file-system magic
/// number read by `statfs` (hexadecimal, e.g. `6969` for NFS). **Test-only
/// seam**: the binary tests set it to fake a network file system, which a
/// test machine cannot mount; it is not documented for users.
pub const FAKE_FS_TYPE_VAR: &str = "CHOHYO_TEST_LEDGER_FS_MAGIC";

/// The name of a network or shared file system by its `statfs` magic
/// number (`f_type`, from Linux's `linux/magic.h` and the file systems'
/// own sources), `None` for a local one.
pub fn shared_fs_name(magic: u64) -> Option<&'static str> {
    Some(match magic {
        0x6969 => "NFS",
        0x517B => "SMB",
        0xFF53_4D42 => "CIFS",
        0xFE53_4D42 => "SMB2",
        0x6573_5546 => "FUSE (sshfs, s3fs, gcsfuse, GlusterFS …)",
        0x0102_1997 => "9p",
        0x00C3_6400 => "Ceph",
        0x0BD0_0BD0 => "Lustre",
        0x5346_414F | 0x6B41_4653 => "AFS",
        0x4750_4653 => "GPFS (IBM Storage Scale)",
        0x7375_7245 => "Coda",
        0x564C => "NCP (NetWare)",
        0x7461_636F => "OCFS2",
        0x0116_1970 => "GFS2",
        0x2003_0528 => "OrangeFS (PVFS2)",
        0x1983_0326 => "BeeGFS",
        0x6E66_7364 => "NFSD",
        0x7366_7276 => "vboxsf (VirtualBox shared folder)",
        _ => return None,
    })
}

/// The magic number of the file system holding `dir`: the test seam's
/// value when set, else `statfs(2)`'s; `None` when it cannot be read (the
/// ledger's own open then reports the real problem).
fn fs_magic(dir: &Path) -> Option<u64> {
    if let Ok(fake) = std::env::var(FAKE_FS_TYPE_VAR) {
        return u64::from_str_radix(fake.trim().trim_start_matches("0x"), 16).ok();
    }
    statfs_magic(dir)
}

#[cfg(target_os = "linux")]
fn statfs_magic(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut st = std::mem::MaybeUninit::<libc::statfs>::uninit();
    // SAFETY: `c` is a NUL-terminated path and `st` room for one statfs.
    let rc = unsafe { libc::statfs(c.as_ptr(), st.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    // SAFETY: statfs returned 0, so it filled `st`.
    let st = unsafe { st.assume_init() };
    // f_type is signed on some targets: the magic is its 32-bit pattern.
    Some(st.f_type as u64 & 0xFFFF_FFFF)
}

#[cfg(not(target_os = "linux"))]
fn statfs_magic(_dir: &Path) -> Option<u64> {
    None
}

/// Refuses a SQLite ledger whose folder `dir` is on a network or shared
/// file system; the message names the file and the file system. A folder
/// not made yet is judged by its nearest existing parent (where it will
/// be made).
pub fn refuse_shared(dir: &Path, ledger: &Path) -> Result<(), String> {
    let existing = dir.ancestors().find(|d| d.exists()).unwrap_or(dir);
    let Some(name) = fs_magic(existing).and_then(shared_fs_name) else {
        return Ok(());
    };
    Err(format!(
        "台帳 {} はネットワーク・共有ファイルシステム ({name}) 上にあります。SQLite の台帳は複数のマシンから安全に使えず、\
         同じ文書番号を二度発行したり台帳が壊れたりするおそれがあるため使いません。ローカルディスクに置くか、\
         複数のマシンで実行するときは PostgreSQL の台帳 ([output] ledger = \"postgresql://…\"、docs/operations.md) を使ってください \
         (a SQLite ledger on a network or shared file system ({name}) is refused: keep it on a local disk, \
         or use the PostgreSQL ledger)",
        crate::error::full_path(ledger).display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_and_cluster_file_systems_are_named_local_ones_are_not() {
        for (magic, name) in [
            (0x6969, "NFS"),
            (0xFF53_4D42, "CIFS"),
            (0xFE53_4D42, "SMB2"),
            (0x517B, "SMB"),
            (0x6573_5546, "FUSE"),
            (0x0102_1997, "9p"),
            (0x00C3_6400, "Ceph"),
            (0x0BD0_0BD0, "Lustre"),
            (0x6B41_4653, "AFS"),
            (0x4750_4653, "GPFS"),
        ] {
            let got = shared_fs_name(magic).unwrap_or_else(|| panic!("{magic:x} not refused"));
            assert!(got.starts_with(name), "{magic:x}: {got}");
        }
        // ext4, xfs, btrfs, tmpfs, overlay (a container's root), zfs.
        for local in [
            0xEF53u64,
            0x5846_5342,
            0x9123_683E,
            0x0102_1994,
            0x794C_7630,
            0x2FC1_2FC1,
        ] {
            assert_eq!(shared_fs_name(local), None, "{local:x}");
        }
    }

    #[test]
    fn the_real_statfs_reads_a_local_temp_folder() {
        let dir = tempfile::tempdir().unwrap();
        let magic = statfs_magic(dir.path());
        if cfg!(target_os = "linux") {
            assert!(magic.is_some_and(|m| m != 0));
        }
    }
}
