# SPDX-License-Identifier: GPL-2.0
#
# A separate apt state in a folder of its own, for packages of a newer
# Debian release: never add that release to the system's sources, or apt
# upgrades libc.  Sourced by scripts/deps.sh and scripts/patches.sh.
#
# apt_side DIR SUITE...: sets APT_SIDE, the options that make apt-get and
# apt-cache use DIR's sources (SUITE's main, in that order), lists and
# archives.  apt_side_update reads the lists.  side_download PACKAGE
# downloads PACKAGE's .deb into DIR/archives.

apt_side() {
	local dir=$1 suite
	shift
	mkdir -p "$dir/lists/partial" "$dir/archives/partial"
	for suite in "$@"; do
		echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main"
	done >"$dir/sources.list"
	APT_SIDE_DIR=$dir
	APT_SIDE=(-o Dir::Etc::sourcelist="$dir/sources.list"
		  -o Dir::Etc::sourceparts=-
		  -o Dir::State::Lists="$dir/lists"
		  -o Dir::Cache::archives="$dir/archives"
		  -o Dir::Cache::pkgcache="$dir/pkgcache.bin"
		  -o Dir::Cache::srcpkgcache="$dir/srcpkgcache.bin"
		  -o APT::Default-Release=
		  -o Debug::NoLocking=1
		  -o APT::Sandbox::User=root)
}

apt_side_update() {
	apt-get -qq "${APT_SIDE[@]}" update >/dev/null
}

side_download() {
	(cd "$APT_SIDE_DIR/archives" && apt-get -qq "${APT_SIDE[@]}" download "$1" >/dev/null)
}
