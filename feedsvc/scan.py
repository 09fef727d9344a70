"""Scan: list the candidate post files under the content folder, with a stat signature.

This is the only step that walks the file system. It skips what is never a post (hidden
files and folders, editor backups, ``_drafts/``, files of other kinds), follows a symlink
only when its target stays inside the content folder, survives loops, vanished entries and
unreadable folders (each reported), and returns each file's stat signature by relative
path. The mapping's order is the order on disk, which means nothing: the builder sorts
what it parses, so output never depends on it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import NamedTuple

from .problem import Problem

#: File name endings a post may have. Markdown files are always candidates; the others
#: only when they start with front matter (checked when parsing).
POST_SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm")
MARKDOWN_SUFFIXES = (".md", ".markdown")
#: Folder names never scanned (Hexo's drafts, tool folders).
SKIP_DIRS = frozenset({"_drafts", "node_modules", "__pycache__"})
#: Names that are never posts whatever their ending: hidden files, Emacs autosaves,
#: Office lock files. (Backups, ``x.md~`` or ``x.md.bak``, do not end in a post suffix.)
_NOT_POST_PREFIXES = (".", "#", "~$")


#: Size, modification time (ns) and inode: equal signatures mean "unchanged".
Signature = tuple[int, int, int]


class SourceFile(NamedTuple):
    """A candidate post file and the stat signature used to notice changes.

    A named tuple rather than a dataclass: a rescan makes one per file (100,000 of them at
    a time), and a tuple is built several times faster than a frozen dataclass.
    """

    relpath: str  #: POSIX path relative to the content folder; the post's identity
    path: str  #: absolute path to open
    signature: Signature  #: size, mtime (ns), inode: equal means "unchanged"

    @property
    def size(self) -> int:
        """Size in bytes when scanned."""
        return self.signature[0]

    @property
    def mtime_ns(self) -> int:
        """Modification time when scanned, in nanoseconds."""
        return self.signature[1]


class Listing(NamedTuple):
    """What one walk of the content folder found.

    The signatures are a plain mapping, in no meaningful order: a rescan compares them
    with the previous ones as a whole (a set difference, in C), and makes a
    :class:`SourceFile` only for the few files that changed.
    """

    root: str  #: the content folder, resolved
    signatures: dict[str, Signature]  #: every candidate post file, by relative path
    problems: list[Problem]  #: sorted

    def source(self, relpath: str) -> SourceFile:
        """The file at ``relpath`` as found by this walk."""
        return SourceFile(relpath, os.path.join(self.root, relpath), self.signatures[relpath])


def is_candidate(name: str) -> bool:
    """True for a file name that may hold a post (by ending; not hidden, not a backup).

    A name ending in a post suffix cannot also end in a backup suffix, so the ending and
    the leading character decide.
    """
    return name.lower().endswith(POST_SUFFIXES) and not name.startswith(_NOT_POST_PREFIXES)


def shown(relpath: str) -> str:
    """``relpath`` as printable text: bytes that are not UTF-8 (which ``os`` decodes to lone
    surrogates) become ``\\xNN`` escapes."""
    return relpath.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _is_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _scan_folder(
    folder: str, rel: str, root: str, root_prefix: str, files: dict[str, Signature]
) -> tuple[list[tuple[str, str, tuple[int, int]]], list[Problem]]:
    """One folder: adds its candidate files to ``files``; returns its subfolders (path,
    relpath, device and inode) and its problems."""
    folders: list[tuple[str, str, tuple[int, int]]] = []
    problems: list[Problem] = []
    try:
        entries = list(os.scandir(folder))
    except OSError as exc:
        problems.append(
            Problem(
                rel.rstrip("/") or ".",
                "",
                f"folder unreadable: {exc.strerror}",
                "skipped the folder",
                "error",
            )
        )
        return folders, problems
    for entry in entries:
        name = entry.name
        try:
            if entry.is_file(follow_symlinks=False):  # the common case: no symlink, no dir
                if not is_candidate(name):
                    continue  # not a post: no need to stat it
                if name.isascii() or _is_utf8(name):
                    st = entry.stat(follow_symlinks=False)
                    files[rel + name] = (st.st_size, st.st_mtime_ns, st.st_ino)
                    continue
            candidate = is_candidate(name)
            if entry.is_symlink():
                target = os.path.realpath(entry.path)
                if target != root and not target.startswith(root_prefix):
                    problems.append(
                        Problem(
                            shown(rel + name),
                            "",
                            "symlink points outside the content folder",
                            "not followed",
                            "warning",
                        )
                    )
                    continue
            st = entry.stat(follow_symlinks=True)
        except OSError as exc:
            if not name.startswith("."):
                problems.append(
                    Problem(
                        shown(rel + name), "", f"cannot stat: {exc.strerror}", "skipped", "error"
                    )
                )
            continue
        relpath = rel + name
        is_dir = stat.S_ISDIR(st.st_mode)
        if is_dir and (name.startswith(".") or name in SKIP_DIRS):
            continue
        if (is_dir or candidate) and not _is_utf8(name):
            # A name that is not UTF-8 cannot become a URL, an id or JSON text (and it
            # crashed the build in uuid5); skip it, and report it in printable form.
            problems.append(
                Problem(
                    shown(relpath),
                    "",
                    "name is not valid UTF-8",
                    "skipped the folder; rename it" if is_dir else "skipped; rename it",
                    "error",
                )
            )
            continue
        if is_dir:
            folders.append((entry.path, relpath + "/", (st.st_dev, st.st_ino)))
        elif candidate and stat.S_ISREG(st.st_mode):
            files[relpath] = (st.st_size, st.st_mtime_ns, st.st_ino)
    return folders, problems


def walk(root: Path) -> Listing:
    """Find every candidate post file under ``root`` with its stat signature.

    Folders are listed level by level; files that cannot be posts are not even stat'ed
    (measured: threads make this slower, the per-entry work holds the GIL). Raises
    ``OSError`` only when ``root`` itself cannot be listed, so that a rescan of an
    unmounted folder fails loudly instead of publishing an empty site.
    """
    root = root.resolve()
    problems: list[Problem] = []
    found: dict[str, Signature] = {}
    root_stat = os.stat(root)
    if not stat.S_ISDIR(root_stat.st_mode):
        raise NotADirectoryError(f"content folder {root} is not a folder")
    os.listdir(root)  # fail now, loudly, if the root is unreadable
    seen_dirs = {(root_stat.st_dev, root_stat.st_ino)}
    level: list[tuple[str, str]] = [(str(root), "")]
    root_text, root_prefix = str(root), str(root) + os.sep
    while level:
        results = [_scan_folder(path, rel, root_text, root_prefix, found) for path, rel in level]
        level = []
        for folders, folder_problems in results:
            problems.extend(folder_problems)
            for path, relpath, key in sorted(folders, key=lambda f: f[1]):
                if key in seen_dirs:
                    problems.append(
                        Problem(
                            relpath.rstrip("/"),
                            "",
                            "folder already scanned (symlink loop or second link)",
                            "not scanned twice",
                            "warning",
                        )
                    )
                    continue
                seen_dirs.add(key)
                level.append((path, relpath))
    problems.sort()
    return Listing(root_text, found, problems)
