// SPDX-License-Identifier: GPL-2.0

//! The fixed universe of descriptors a case draws from: regular files of
//! several sizes and contents on the home filesystem (btrfs or xfs), the
//! same file through other opens and mounts, files on other filesystems,
//! and descriptors that are not regular files or not descriptors at all.
//!
//! Every regular file's content is `pattern(x mod PERIOD)` with a few
//! bytes changed or a range left as a hole, so ranges at offsets that
//! differ by a multiple of `PERIOD` hold the same data unless a change
//! falls inside them.  The universe is built once per run; a dedupe never
//! changes data, so it stays valid (the checksums say so after each case).

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::sys;

/// Period of the content pattern: two 8 KiB halves.
pub const PERIOD: u64 = 16384;
/// Block size of every filesystem the fuzzer makes.
pub const BLOCK: u64 = 4096;
/// The caller `nobody`.
pub const NOBODY: u32 = 65534;

/// The kind of inode behind a descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Regular,
    Directory,
    Other,
}

/// The filesystem (superblock) a descriptor's inode is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fs {
    Home,
    OtherRemap,
    Ext4,
    Tmpfs,
    Overlay,
    Memfd,
    Pseudo,
}

/// What the oracle and the invariants need to know of a descriptor.
#[derive(Clone, Debug)]
pub struct Desc {
    /// Stable name, used in reproducers.
    pub name: String,
    /// The number put in `src_fd` or `dest_fd`.
    pub number: i64,
    /// `fget()` on the number succeeds (open, not `O_PATH`).
    pub open: bool,
    pub readable: bool,
    pub writable: bool,
    pub kind: Kind,
    pub fs: Fs,
    /// The filesystem provides `remap_file_range`.
    pub can_remap: bool,
    pub read_only_mount: bool,
    pub immutable: bool,
    pub swapfile: bool,
    /// Index into [`Universe::files`] for regular files.
    pub file: Option<usize>,
    /// Who owns the inode and its mode, for the permission check.
    pub uid: u32,
    pub mode: u32,
}

/// A regular file of the universe.
#[derive(Clone, Debug)]
pub struct File {
    pub name: String,
    pub size: u64,
    pub fs: Fs,
    /// An `O_RDONLY` descriptor for the checks (owned by the universe).
    pub reader: RawFd,
    /// FNV-1a of the content when the universe was built.
    pub checksum: u64,
    /// Identity of the inode (`st_ino` within `fs`).
    pub inode: u64,
}

/// All descriptors of one run.
pub struct Universe {
    pub descs: Vec<Desc>,
    pub files: Vec<File>,
    /// The home filesystem's files to rewrite in [`Universe::refresh`].
    rewrite: Vec<(PathBuf, u64, Content)>,
    /// Where the files are: the home filesystem's directory first.
    dirs: Vec<PathBuf>,
    swapfile: Option<PathBuf>,
    _keep: Vec<OwnedFd>,
}

/// How one regular file differs from the pattern.
#[derive(Clone, Copy)]
enum Content {
    /// The pattern.
    Pattern,
    /// The pattern with the byte at this offset changed.
    Changed(u64),
    /// The pattern with `[from, to)` a hole.
    Hole(u64, u64),
    /// Another pattern altogether.
    Other,
}

fn pattern_byte(seed: u64, x: u64) -> u8 {
    let mut h = (x % PERIOD).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ seed;
    h ^= h >> 31;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    (h >> 27) as u8
}

/// A checksum of a file's whole content, a 64-bit word at a time.
pub fn checksum(fd: RawFd) -> io::Result<u64> {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut buf = vec![0u8; 1 << 18];
    let mut off: i64 = 0;
    loop {
        // SAFETY: `buf` is writable for its length.
        let n = unsafe { libc::pread(fd, buf.as_mut_ptr().cast(), buf.len(), off) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        if n == 0 {
            return Ok(h ^ off as u64);
        }
        let data = &buf[..n as usize];
        let mut words = data.chunks_exact(8);
        for w in &mut words {
            let mut x = [0u8; 8];
            x.copy_from_slice(w);
            h = (h ^ u64::from_le_bytes(x))
                .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                .rotate_left(29);
        }
        for b in words.remainder() {
            h = (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
        }
        off += n as i64;
    }
}

/// Reads `len` bytes at `off`; short at EOF.
pub fn read_at(fd: RawFd, off: u64, len: u64) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; len as usize];
    let mut done = 0usize;
    while done < buf.len() {
        // SAFETY: The tail of `buf` is writable.
        let n = unsafe {
            libc::pread(
                fd,
                buf[done..].as_mut_ptr().cast(),
                buf.len() - done,
                (off + done as u64) as i64,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        if n == 0 {
            break;
        }
        done += n as usize;
    }
    buf.truncate(done);
    Ok(buf)
}

fn write_file(path: &Path, size: u64, content: Content, nocow: bool) -> io::Result<()> {
    let f = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .open(path)?;
    if nocow {
        // Must be set before the file has data; only btrfs knows it.
        let _ = sys::set_inode_flag(f.as_raw_fd(), sys::FS_NOCOW_FL, true);
    }
    let seed = match content {
        Content::Other => 0x5eed_0002,
        _ => 0x5eed_0001,
    };
    let mut data: Vec<u8> = (0..size).map(|x| pattern_byte(seed, x)).collect();
    match content {
        Content::Changed(at) if at < size => data[at as usize] ^= 0xa5,
        _ => {}
    }
    let write = |from: u64, to: u64| -> io::Result<()> {
        let slice = &data[from as usize..to as usize];
        // SAFETY: `slice` is readable for its length.
        let n = unsafe {
            libc::pwrite(
                f.as_raw_fd(),
                slice.as_ptr().cast(),
                slice.len(),
                from as i64,
            )
        };
        if n != slice.len() as isize {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    };
    match content {
        Content::Hole(a, b) => {
            write(0, a.min(size))?;
            if b < size {
                write(b, size)?;
            }
            f.set_len(size)?;
        }
        _ => write(0, size)?,
    }
    f.sync_all()
}

fn mnt_root() -> PathBuf {
    PathBuf::from(std::env::var("FIDEDUPE_MNT").unwrap_or_else(|_| "/tmp/fidedupe".into()))
}

fn open_raw(path: &Path, flags: i32) -> io::Result<RawFd> {
    let c = CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| io::ErrorKind::InvalidInput)?;
    // SAFETY: A valid C string.
    let fd = unsafe { libc::open(c.as_ptr(), flags | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(fd)
}

fn inode_of(fd: RawFd) -> u64 {
    // SAFETY: `st` is written by fstat.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: As above.
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return 0;
    }
    (st.st_dev << 32) ^ st.st_ino
}

/// The files every universe holds: name, size, content.
fn file_specs(max_request: u64, chunk: u64) -> Vec<(&'static str, u64, Content)> {
    let big = 4 * max_request.max(4 * PERIOD);
    vec![
        ("empty", 0, Content::Pattern),
        ("b1", BLOCK, Content::Pattern),
        ("b1p1", BLOCK + 1, Content::Pattern),
        ("b3", 3 * BLOCK, Content::Pattern),
        ("period_m1", PERIOD - 1, Content::Pattern),
        ("chunks3", 3 * chunk, Content::Pattern),
        ("chunks3_tail", 3 * chunk + 100, Content::Pattern),
        ("cap_p1", max_request + BLOCK, Content::Pattern),
        ("big", big, Content::Pattern),
        ("big_m1", big - 1, Content::Pattern),
        ("big_first", big, Content::Changed(0)),
        ("big_mid", big, Content::Changed(big / 2 + 5)),
        ("big_last", big, Content::Changed(big - 1)),
        ("big_hole", big, Content::Hole(PERIOD, big / 2)),
        ("big_hole2", big, Content::Hole(PERIOD, big / 2)),
        ("big_other", big, Content::Other),
    ]
}

impl Universe {
    /// Builds the universe on `home` ("btrfs" or "xfs").  `unprivileged`:
    /// the descriptors are opened as `nobody`, after the files are made.
    pub fn build(home: &str, max_request: u64, chunk: u64, unprivileged: bool) -> io::Result<Self> {
        let other = if home == "btrfs" { "xfs" } else { "btrfs" };
        let root = mnt_root();
        let tag = format!("fuzz.{}", std::process::id());
        let dir = root.join(home).join(&tag);
        fs::create_dir_all(&dir)?;
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755))?;
        let mut u = Universe {
            descs: Vec::new(),
            files: Vec::new(),
            rewrite: Vec::new(),
            dirs: vec![dir.clone()],
            swapfile: None,
            _keep: Vec::new(),
        };

        // Regular files on the home filesystem, and their variants.
        for (name, size, content) in file_specs(max_request, chunk) {
            write_file(&dir.join(name), size, content, false)?;
            u.rewrite.push((dir.join(name), size, content));
        }
        let perm_files = [
            ("perm_root_644", 0u32, 0o644u32),
            ("perm_nobody_444", NOBODY, 0o444),
            ("perm_root_666", 0, 0o666),
        ];
        for (name, uid, mode) in perm_files {
            let p = dir.join(name);
            write_file(&p, 4 * PERIOD, Content::Pattern, false)?;
            u.rewrite.push((p.clone(), 4 * PERIOD, Content::Pattern));
            std::os::unix::fs::chown(&p, Some(uid), Some(uid))?;
            fs::set_permissions(&p, fs::Permissions::from_mode(mode))?;
        }
        write_file(&dir.join("immutable"), 4 * PERIOD, Content::Pattern, false)?;
        // A file on the other remap filesystem, ext4 and tmpfs.
        let other_dir = root.join(other).join(format!("{tag}.{home}"));
        fs::create_dir_all(&other_dir)?;
        write_file(&other_dir.join("big"), 4 * PERIOD, Content::Pattern, false)?;
        u.rewrite
            .push((other_dir.join("big"), 4 * PERIOD, Content::Pattern));
        let ext4_dir = root.join("ext4").join(format!("{tag}.{home}"));
        fs::create_dir_all(&ext4_dir)?;
        write_file(&ext4_dir.join("big"), 4 * PERIOD, Content::Pattern, false)?;
        // /dev/shm is tmpfs (no remap); the test VM's /tmp is an overlay
        // on tmpfs, whose remap_file_range refuses what it cannot pass on.
        let tmp_dir = PathBuf::from(format!("/dev/shm/fidedupe-{tag}.{home}"));
        let overlay_dir = PathBuf::from(format!("/tmp/fidedupe-{tag}.{home}"));
        for d in [&tmp_dir, &overlay_dir] {
            fs::create_dir_all(d)?;
            fs::set_permissions(d, fs::Permissions::from_mode(0o755))?;
            write_file(&d.join("big"), 4 * PERIOD, Content::Pattern, false)?;
        }
        u.dirs.extend([
            other_dir.clone(),
            ext4_dir.clone(),
            tmp_dir.clone(),
            overlay_dir.clone(),
        ]);
        // An active swapfile (NOCOW on btrfs), if swapon works here; not
        // for a run as nobody, which could not swapoff it.
        let swap = dir.join("swap");
        write_file(&swap, 1 << 20, Content::Pattern, true)?;
        // 0600, or swapon warns on stderr, which ends up in the results.
        fs::set_permissions(&swap, fs::Permissions::from_mode(0o600))?;
        let swap_ok = !unprivileged
            && Command::new("mkswap")
                .arg("-q")
                .arg(&swap)
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false)
            && Command::new("swapon")
                .arg(&swap)
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
        if swap_ok {
            u.swapfile = Some(swap.clone());
        }
        // The immutable flag last: nothing can open it for writing after.
        {
            let f = fs::File::open(dir.join("immutable"))?;
            sys::set_inode_flag(f.as_raw_fd(), sys::FS_IMMUTABLE_FL, true)?;
        }
        // The only descriptor opened for writing by root and kept by an
        // unprivileged caller: FMODE_WRITE is its dedupe permission.
        let passed_rw = open_raw(&dir.join("perm_root_644"), libc::O_RDWR)?;

        if unprivileged {
            // SAFETY: Plain system calls on our own process.
            let r = unsafe {
                libc::setgroups(0, std::ptr::null());
                libc::setresgid(NOBODY, NOBODY, NOBODY) | libc::setresuid(NOBODY, NOBODY, NOBODY)
            };
            if r != 0 {
                return Err(io::Error::last_os_error());
            }
        }

        let home_fs = |p: &Path| {
            if p.starts_with(root.join(home))
                || p.starts_with(root.join(format!("{home}-ro")))
                || p.starts_with(root.join(format!("{home}-bind")))
            {
                Fs::Home
            } else if p.starts_with(root.join(other)) {
                Fs::OtherRemap
            } else if p.starts_with(root.join("ext4")) {
                Fs::Ext4
            } else if p.starts_with("/tmp") {
                Fs::Overlay
            } else {
                Fs::Tmpfs
            }
        };

        // name, path, open flags, read-only mount.
        let mut opens: Vec<(String, PathBuf, i32, bool)> = Vec::new();
        for (name, _, _) in file_specs(max_request, chunk) {
            opens.push((name.to_string(), dir.join(name), libc::O_RDWR, false));
        }
        opens.push(("big.ro".into(), dir.join("big"), libc::O_RDONLY, false));
        opens.push(("big.wo".into(), dir.join("big"), libc::O_WRONLY, false));
        opens.push((
            "big.append".into(),
            dir.join("big"),
            libc::O_RDWR | libc::O_APPEND,
            false,
        ));
        opens.push(("big.path".into(), dir.join("big"), libc::O_PATH, false));
        opens.push((
            "big.ro_mount".into(),
            root.join(format!("{home}-ro")).join(&tag).join("big"),
            libc::O_RDONLY,
            true,
        ));
        opens.push((
            "big.bind_mount".into(),
            root.join(format!("{home}-bind")).join(&tag).join("big"),
            libc::O_RDWR,
            false,
        ));
        for (name, _, _) in perm_files {
            opens.push((name.into(), dir.join(name), libc::O_RDONLY, false));
        }
        opens.push((
            "immutable".into(),
            dir.join("immutable"),
            libc::O_RDONLY,
            false,
        ));
        if swap_ok {
            opens.push(("swap".into(), swap.clone(), libc::O_RDONLY, false));
        }
        opens.push((
            "other_fs".into(),
            other_dir.join("big"),
            libc::O_RDWR,
            false,
        ));
        opens.push(("ext4".into(), ext4_dir.join("big"), libc::O_RDWR, false));
        opens.push(("tmpfs".into(), tmp_dir.join("big"), libc::O_RDWR, false));
        opens.push((
            "overlay".into(),
            overlay_dir.join("big"),
            libc::O_RDWR,
            false,
        ));
        if unprivileged {
            // Only what nobody may open; the others would fail.
            opens.retain(|(_, p, flags, _)| {
                open_raw(p, *flags)
                    .map(|fd| unsafe { libc::close(fd) })
                    .is_ok()
            });
        }

        for (name, path, flags, ro) in opens {
            let fd = open_raw(&path, flags)?;
            let meta = fs::metadata(&path)?;
            let fs_kind = home_fs(&path);
            let file = if flags == libc::O_PATH {
                None
            } else {
                Some(u.add_file(&name, &path, fs_kind)?)
            };
            let acc = flags & libc::O_ACCMODE;
            u.descs.push(Desc {
                name,
                number: i64::from(fd),
                open: flags != libc::O_PATH,
                readable: acc != libc::O_WRONLY && flags != libc::O_PATH,
                writable: acc != libc::O_RDONLY && flags != libc::O_PATH,
                kind: Kind::Regular,
                fs: fs_kind,
                can_remap: matches!(fs_kind, Fs::Home | Fs::OtherRemap | Fs::Overlay),
                read_only_mount: ro,
                immutable: path.ends_with("immutable"),
                swapfile: swap_ok && path == swap,
                file,
                uid: std::os::unix::fs::MetadataExt::uid(&meta),
                mode: std::os::unix::fs::MetadataExt::mode(&meta) & 0o7777,
            });
        }
        let passed = u.add_file(
            "perm_root_644.passed_rw",
            &dir.join("perm_root_644"),
            Fs::Home,
        )?;
        u.descs.push(Desc {
            name: "perm_root_644.passed_rw".into(),
            number: i64::from(passed_rw),
            open: true,
            readable: true,
            writable: true,
            kind: Kind::Regular,
            fs: Fs::Home,
            can_remap: true,
            read_only_mount: false,
            immutable: false,
            swapfile: false,
            file: Some(passed),
            uid: 0,
            mode: 0o644,
        });

        // A memfd, holding the pattern.
        {
            let name = CString::new("fidedupe-fuzz").map_err(|_| io::ErrorKind::InvalidInput)?;
            // SAFETY: A valid name.
            let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            let data: Vec<u8> = (0..4 * PERIOD)
                .map(|x| pattern_byte(0x5eed_0001, x))
                .collect();
            // SAFETY: `data` is readable for its length.
            unsafe { libc::pwrite(fd, data.as_ptr().cast(), data.len(), 0) };
            let idx = u.files.len();
            u.files.push(File {
                name: "memfd".into(),
                size: 4 * PERIOD,
                fs: Fs::Memfd,
                reader: fd,
                checksum: checksum(fd)?,
                inode: inode_of(fd),
            });
            u.push_special("memfd", fd, Kind::Regular, Fs::Memfd, true, true, Some(idx));
        }
        // Descriptors that are not regular files.
        let d = open_raw(&dir, libc::O_RDONLY | libc::O_DIRECTORY)?;
        u.push_special("directory", d, Kind::Directory, Fs::Home, true, false, None);
        let mut pipe = [0; 2];
        // SAFETY: `pipe` has room for two descriptors.
        if unsafe { libc::pipe2(pipe.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(io::Error::last_os_error());
        }
        u.push_special(
            "pipe_read",
            pipe[0],
            Kind::Other,
            Fs::Pseudo,
            true,
            false,
            None,
        );
        u.push_special(
            "pipe_write",
            pipe[1],
            Kind::Other,
            Fs::Pseudo,
            false,
            true,
            None,
        );
        let mut sock = [0; 2];
        // SAFETY: `sock` has room for two descriptors.
        if unsafe {
            libc::socketpair(
                libc::AF_UNIX,
                libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
                0,
                sock.as_mut_ptr(),
            )
        } != 0
        {
            return Err(io::Error::last_os_error());
        }
        u.push_special("socket", sock[0], Kind::Other, Fs::Pseudo, true, true, None);
        let null = open_raw(Path::new("/dev/null"), libc::O_RDWR)?;
        u.push_special("dev_null", null, Kind::Other, Fs::Pseudo, true, true, None);

        // Numbers that are no open descriptor, or not one at all.
        let closed = 900;
        // SAFETY: Closing a number we never opened is harmless.
        unsafe { libc::close(closed) };
        let big = u.descs.iter().find(|d| d.name == "big");
        let rw = big.map(|d| d.number).unwrap_or(0);
        let big_file = big.and_then(|d| d.file);
        let numbers = [
            ("closed", i64::from(closed)),
            ("minus_one", -1),
            ("int_max", i64::from(i32::MAX)),
            ("high_bits", (1i64 << 32) + rw),
            ("i64_min_plus", i64::MIN + rw),
        ];
        for (name, number) in numbers {
            // Mainline's 32-bit truncation makes the last two name "big".
            let aliases = number != i64::from(closed) && (number >> 32) != 0 && number != -1;
            u.descs.push(Desc {
                name: name.into(),
                number,
                open: false,
                readable: false,
                writable: false,
                kind: Kind::Other,
                fs: Fs::Pseudo,
                can_remap: false,
                read_only_mount: false,
                immutable: false,
                swapfile: false,
                file: if aliases { big_file } else { None },
                uid: 0,
                mode: 0,
            });
        }
        Ok(u)
    }

    /// The file at `path`, one entry per inode whatever opens name it.
    fn add_file(&mut self, name: &str, path: &Path, fs: Fs) -> io::Result<usize> {
        let reader = open_raw(path, libc::O_RDONLY)?;
        let inode = inode_of(reader);
        if let Some(i) = self.files.iter().position(|f| f.inode == inode) {
            // SAFETY: `reader` was just opened and is not used again.
            unsafe { libc::close(reader) };
            return Ok(i);
        }
        // SAFETY: `reader` was just opened and is ours.
        let keep = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(reader) };
        let size = fs::metadata(path)?.len();
        let file = File {
            name: name.to_string(),
            size,
            fs,
            reader,
            checksum: checksum(reader)?,
            inode,
        };
        self._keep.push(keep);
        self.files.push(file);
        Ok(self.files.len() - 1)
    }

    #[allow(clippy::too_many_arguments)]
    fn push_special(
        &mut self,
        name: &str,
        fd: RawFd,
        kind: Kind,
        fs: Fs,
        readable: bool,
        writable: bool,
        file: Option<usize>,
    ) {
        // SAFETY: `fd` is ours.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        unsafe { libc::fstat(fd, &mut st) };
        self.descs.push(Desc {
            name: name.into(),
            number: i64::from(fd),
            open: true,
            readable,
            writable,
            kind,
            fs,
            can_remap: false,
            read_only_mount: false,
            immutable: false,
            swapfile: false,
            file,
            uid: st.st_uid,
            mode: st.st_mode & 0o7777,
        });
    }

    /// Rewrites the files that dedupes share (same data, new extents), so
    /// that their extent maps stay short: FIEMAP on btrfs walks the
    /// back references of every extent to tell whether it is shared.
    /// Only root may; as nobody this does nothing.
    pub fn refresh(&self) -> io::Result<()> {
        // SAFETY: A plain system call.
        if unsafe { libc::geteuid() } != 0 {
            return Ok(());
        }
        for (path, size, content) in &self.rewrite {
            write_file(path, *size, *content, false)?;
        }
        Ok(())
    }

    /// The descriptor called `name`.
    pub fn by_name(&self, name: &str) -> Option<usize> {
        self.descs.iter().position(|d| d.name == name)
    }

    /// The size of a descriptor's file, 0 if it has none.
    pub fn size(&self, desc: usize) -> u64 {
        self.descs[desc]
            .file
            .map(|f| self.files[f].size)
            .unwrap_or(0)
    }

    /// Removes what the universe made (run as root at the end).
    pub fn teardown(&self) {
        if let Some(swap) = &self.swapfile {
            let _ = Command::new("swapoff").arg(swap).status();
        }
        if let Ok(f) = fs::File::open(self.dirs[0].join("immutable")) {
            let _ = sys::set_inode_flag(f.as_raw_fd(), sys::FS_IMMUTABLE_FL, false);
        }
        for dir in &self.dirs {
            let _ = fs::remove_dir_all(dir);
        }
    }
}
