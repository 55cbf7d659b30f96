"""More like this, like: terms and the vector indexes, on real libraries with chosen embeddings."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from helpers.library import write_photo
from joytag_desktop.library import ImageResult, Library
from joytag_desktop.library import vectors as vectors_module
from joytag_desktop.library.similar import SimilarityError
from joytag_desktop.library.vectors import cosine

VOCAB = ["cat", "dog", "outdoors"]


def _store(library: Library, model: str, embeddings: dict[int, np.ndarray], tags: dict[int, list[str]] | None = None):
    known = {m.name: m for m in library.models()}
    info = known[model] if model in known else library.add_model(model)
    results = []
    for image_id, vector in embeddings.items():
        scores = np.zeros(len(VOCAB), dtype=np.float32)
        for name in (tags or {}).get(image_id, []):
            scores[VOCAB.index(name)] = 0.9
        results.append(ImageResult(image_id, scores, vector.astype(np.float32), None))
    library.store_results(results, info, VOCAB, None)
    return info


def _textured(path: Path, seed: int) -> Path:
    """A JPEG of random noise: a picture with content as far as a perceptual hash can tell."""
    from PIL import Image as PILImage

    pixels = np.random.default_rng(seed).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    PILImage.fromarray(pixels).save(path, "JPEG", quality=90)
    return path


def _library(
    tmp_path: Path, count: int, ndim: int = 16, seed: int = 0, textured: bool = False
) -> tuple[Path, dict[int, np.ndarray]]:
    """``count`` real JPEGs (flat colours, or noise if ``textured``), tagged by model "alpha" with
    random embeddings (cat on even ids)."""
    rng = np.random.default_rng(seed)
    db = tmp_path / "library.sqlite3"
    photos = tmp_path / "photos"
    for n in range(count):
        if textured:
            _textured(photos / f"p{n:03d}.jpg", seed * 1000 + n)
        else:
            write_photo(photos / f"p{n:03d}.jpg", color=(n % 256, 10, 20))
    with Library(db) as library:
        library.add_folder(photos)
        library.scan([photos])
        ids = sorted(img.id for img in library.images(library.search("status:pending").ids))
        embeddings = {i: rng.standard_normal(ndim).astype(np.float32) for i in ids}
        _store(library, "alpha", embeddings, {i: ["cat"] if i % 2 == 0 else ["dog"] for i in ids})
    return db, embeddings


def _exact(embeddings: dict[int, np.ndarray], source: int, limit: int, keep=lambda i: True) -> list[int]:
    ids = [i for i in embeddings if i != source and keep(i)]
    # float16 as stored
    matrix = np.stack([embeddings[i].astype(np.float16).astype(np.float32) for i in ids])
    sims = cosine(matrix, embeddings[source].astype(np.float16).astype(np.float32))
    order = sorted(range(len(ids)), key=lambda k: (-sims[k], ids[k]))
    return [ids[k] for k in order[:limit]]


def test_more_like_this_is_the_exact_cosine_order_with_similarities(tmp_path: Path) -> None:
    db, embeddings = _library(tmp_path, 40)
    with Library(db) as library:
        source = min(embeddings)
        matches = library.similar(source, limit=10)
        assert [m.image_id for m in matches] == _exact(embeddings, source, 10)
        assert all(a.similarity >= b.similarity for a, b in itertools.pairwise(matches))
        assert source not in [m.image_id for m in matches]
        # by path, and narrowed by a query (only cats)
        path = library.image(source).path
        cats = library.similar(path, limit=5, query="cat")
        assert [m.image_id for m in cats] == _exact(embeddings, source, 5, lambda i: i % 2 == 0)


def test_like_term_composes_with_the_query_language_and_sorts_by_similarity(tmp_path: Path) -> None:
    db, embeddings = _library(tmp_path, 30)
    with Library(db) as library:
        source = max(embeddings)
        path = library.image(source).path
        nearest = _exact(embeddings, source, 200)
        result = library.search(f'like:"{path}"', sort="similarity")
        assert result.ids == nearest and not result.warnings
        dogs = library.search(f'like:"{path}" -cat', sort="similarity").ids
        assert dogs == [i for i in nearest if i % 2 == 1]
        assert library.search(f'like:"{path}" -cat', sort="-similarity").ids == dogs[::-1]
        assert library.count(f'like:"{path}" cat') == len([i for i in nearest if i % 2 == 0])
        # the SQL path (a one-off threshold) gives the same
        assert library.search(f'like:"{path}" -cat', sort="similarity", threshold=0.5).ids == dogs
        missing = library.search("like:/no/such/file.jpg")
        assert missing.ids == [] and "no such image file" in missing.warnings[0]


def test_models_never_mix_and_an_image_without_embedding_says_so(tmp_path: Path) -> None:
    db, embeddings = _library(tmp_path, 12, ndim=16)
    rng = np.random.default_rng(5)
    with Library(db) as library:
        ids = sorted(embeddings)
        wide = {i: rng.standard_normal(24).astype(np.float32) for i in ids[:6]}
        _store(library, "beta", wide)
        beta = library.similar(ids[0], limit=3, model="beta")
        assert [m.image_id for m in beta] == _exact(wide, ids[0], 3)
        assert {m.image_id for m in library.similar(ids[0], limit=20, model="alpha")} == set(ids[1:])
        with pytest.raises(SimilarityError, match="tag it first"):
            library.similar(ids[-1], model="beta")


def test_the_index_follows_tagging_retagging_moves_and_removals(tmp_path: Path) -> None:
    db, embeddings = _library(tmp_path, 20)
    ids = sorted(embeddings)
    with Library(db) as library:
        assert library.similar(ids[0], limit=3)  # built and saved
        assert library.similarity.builds == 1
    target = embeddings[ids[0]]
    with Library(db) as library:  # another process: retag one image to be the source's twin, delete one
        library.similarity.enabled = False
        _store(library, "alpha", {ids[5]: target * 2})
        library.similar(ids[0], limit=1)
        with library.engine.begin() as connection:
            connection.exec_driver_sql("DELETE FROM images WHERE id = ?", (ids[7],))
    with Library(db) as library:
        matches = library.similar(ids[0], limit=30)
        assert matches[0].image_id == ids[5] and matches[0].similarity == pytest.approx(1.0, abs=1e-3)
        assert ids[7] not in [m.image_id for m in matches]
        assert library.similarity.builds == 0  # loaded and replayed
        # a moved file keeps its id and its place
        image = library.image(ids[5])
        new = Path(image.path).with_name("moved.jpg")
        os.rename(image.path, new)
        library.scan([tmp_path / "photos"])
        assert library.similar(ids[0], limit=1)[0].image_id == ids[5]
        # a missing file is left out
        os.remove(new)
        library.scan([tmp_path / "photos"])
        assert ids[5] not in [m.image_id for m in library.similar(ids[0], limit=30)]


@pytest.mark.parametrize("kind", ["flat", "graph"])
@pytest.mark.parametrize("damage", ["truncate", "flip", "description", "foreign"])
def test_a_damaged_saved_index_is_rebuilt_never_trusted(
    tmp_path: Path, damage: str, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if kind == "graph":
        monkeypatch.setattr(vectors_module, "FLAT_UP_TO", 10)
    db, embeddings = _library(tmp_path, 25)
    source = min(embeddings)
    with Library(db) as library:
        expected = library.similar(source, limit=8)
    folder = Path(f"{db}-vectors")
    description = folder / "model-1.json"
    graph = next(folder.glob(f"model-1-*.{kind}"))
    data = bytearray(graph.read_bytes())
    if damage == "truncate":
        graph.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        data[len(data) // 2] ^= 0xFF
        graph.write_bytes(data)
    elif damage == "description":
        description.write_text("{not json")
    else:
        other = tmp_path / "other"
        other.mkdir()
        other_db, _ = _library(other, 5)
        with Library(other_db) as library:
            library.similar(1, limit=2)
        for path in Path(f"{other_db}-vectors").iterdir():
            (folder / path.name).write_bytes(path.read_bytes())
    with Library(db) as library:
        assert library.similar(source, limit=8) == expected
        assert library.similarity.builds == 1


@pytest.mark.slow
def test_sigkill_while_saving_leaves_a_usable_index(tmp_path: Path) -> None:
    """A process killed in the middle of its saves: the next one loads the last whole save or
    rebuilds, and answers the same."""
    db, embeddings = _library(tmp_path, 30)
    source = min(embeddings)
    with Library(db) as library:
        expected = [m.image_id for m in library.similar(source, limit=10)]
    script = (
        "import sys, numpy as np\n"
        "from joytag_desktop.library import Library\n"
        "from joytag_desktop.library.vectors import VectorIndex\n"
        f"library = Library({str(db)!r})\n"
        "index = library.similarity\n"
        "print('ready', flush=True)\n"
        "while True:\n"
        "    with index.held(1) as held, index.connection() as c:\n"
        "        index._save(c, held)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    import time

    time.sleep(1.0)
    child.send_signal(signal.SIGKILL)
    child.wait()
    with Library(db) as library:
        assert [m.image_id for m in library.similar(source, limit=10)] == expected


def test_an_outside_file_is_embedded_on_the_fly(tmp_path: Path) -> None:
    db, embeddings = _library(tmp_path, 20)
    outside = write_photo(tmp_path / "elsewhere" / "new.jpg")
    twin = max(embeddings)
    calls: list = []

    def embed(path: Path, model) -> np.ndarray:
        calls.append((path, model.name))
        return embeddings[twin] * 3

    with Library(db) as library:
        with pytest.raises(SimilarityError, match="not in the library"):
            library.similar(outside)
        library.similarity.embedder = embed
        matches = library.similar(outside, limit=3)
        assert matches[0].image_id == twin and matches[0].similarity == pytest.approx(1.0, abs=1e-3)
        assert library.search(f'like:"{outside}"', sort="similarity").ids[0] == twin
        assert [(path.name, name) for path, name in calls] == [("new.jpg", "alpha")]  # embedded once


def test_big_indexes_are_approximate_but_recall_well(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Above FLAT_UP_TO the graph answers; its top 20 equals the exact one almost always (the
    candidates are re-scored exactly). A flat store that grows past it becomes a graph."""
    monkeypatch.setattr(vectors_module, "FLAT_UP_TO", 100)
    db, embeddings = _library(tmp_path, 60, ndim=32, seed=3)
    with Library(db) as library:
        library.similar(min(embeddings), limit=2)
        assert library.similarity._indexes[1].store.kind == "flat"
    monkeypatch.setattr(vectors_module, "FLAT_UP_TO", 40)
    with Library(db) as library:
        hits = 0
        for source in list(embeddings)[:10]:
            got = [m.image_id for m in library.similar(source, limit=20)]
            hits += len(set(got) & set(_exact(embeddings, source, 20)))
        assert hits / 200 >= 0.95
        assert library.similarity._indexes[1].store.kind == "graph"


def test_the_gui_builds_a_graph_beside_the_window_and_compares_exhaustively_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vectors_module, "FLAT_UP_TO", 10)
    db, embeddings = _library(tmp_path, 30, seed=4)
    source = min(embeddings)
    with Library(db) as library:
        library.similarity.background = True
        gate = threading.Event()
        original = vectors_module.VectorIndex.build

        def slow_build(*args, **kwargs):
            gate.wait(10)
            return original(*args, **kwargs)

        monkeypatch.setattr(vectors_module.VectorIndex, "build", slow_build)
        meanwhile = library.similar(source, limit=10)
        assert [m.image_id for m in meanwhile] == _exact(embeddings, source, 10)
        assert library.similarity.builds == 0
        gate.set()
        library.similarity._building[1].join(10)
        assert library.similarity.builds == 1
        after = library.similar(source, limit=10)
        assert [m.image_id for m in after] == [m.image_id for m in meanwhile]
        assert [m.similarity for m in after] == pytest.approx([m.similarity for m in meanwhile], abs=1e-6)


# --- duplicates ---------------------------------------------------------------------------------

FIXTURE_IMAGES = Path(__file__).parent / "fixtures" / "joytag-format" / "images"


def _transformed_copies(folder: Path) -> dict[str, list[Path]]:
    """Each fixture photo, and copies resized, re-encoded as JPEG, mirrored and cropped to 90 % of its
    area (centred): what a library collects from phones, chats and editors."""
    from PIL import Image as PILImage
    from PIL import ImageOps

    folder.mkdir(parents=True, exist_ok=True)
    copies: dict[str, list[Path]] = {}
    for source in sorted(FIXTURE_IMAGES.glob("*")):
        if source.name.startswith(("extra-", "camera-small", "logo-alpha")):
            continue
        picture = ImageOps.exif_transpose(PILImage.open(source)).convert("RGB")
        width, height = picture.size
        original = folder / f"{source.stem}.png"
        picture.save(original)
        margin = (1 - 0.9**0.5) / 2
        made = {
            "resized": picture.resize((width // 2, height // 2)),
            "mirrored": ImageOps.mirror(picture),
            "cropped": picture.crop(
                (
                    round(width * margin),
                    round(height * margin),
                    round(width * (1 - margin)),
                    round(height * (1 - margin)),
                )
            ),
        }
        paths = [original]
        for name, image in made.items():
            target = folder / f"{source.stem}-{name}.png"
            image.save(target)
            paths.append(target)
        jpeg = folder / f"{source.stem}-reencoded.jpg"
        picture.save(jpeg, "JPEG", quality=70)
        copies[source.stem] = [*paths, jpeg]
    return copies


@pytest.mark.slow
def test_transformed_copies_of_real_photos_are_near_duplicates_of_their_originals(tmp_path: Path) -> None:
    from joytag_desktop.library.duplicates import find_duplicates

    copies = _transformed_copies(tmp_path / "photos")
    exact = tmp_path / "photos" / "sub" / "rocket-again.png"
    exact.parent.mkdir()
    exact.write_bytes((tmp_path / "photos" / "rocket.png").read_bytes())
    with Library(tmp_path / "library.sqlite3") as library:
        library.add_folder(tmp_path / "photos")
        library.scan([tmp_path / "photos"])
        groups = find_duplicates(library, kinds=("exact", "near"))
        found = {frozenset(Path(i.path).name for i in g.images) for g in groups}
        for stem, paths in copies.items():
            expected = {p.name for p in paths} | ({exact.name} if stem == "rocket" else set())
            assert frozenset(expected) in found, (stem, found)
        assert len(groups) == len(copies)  # and no two different photos grouped together
        rocket = next(g for g in groups if any(i.path == str(exact) for i in g.images))
        assert rocket.kind == "near"  # its weakest link
        keeper = next(i for i in rocket.images if i.id == rocket.keep)
        assert keeper.width * keeper.height == max(i.width * i.height for i in rocket.images)
        assert "resized" not in keeper.path and "cropped" not in keeper.path
        only_exact = find_duplicates(library, kinds=("exact",))
        assert [{Path(i.path).name for i in g.images} for g in only_exact] == [{"rocket.png", "rocket-again.png"}]
        assert only_exact[0].kind == "exact"
        # hashes are kept: a second run computes none
        from joytag_desktop.library import duplicates

        calls = []
        original = duplicates.image_hashes
        duplicates.image_hashes = lambda path: calls.append(path) or original(path)
        try:
            assert len(find_duplicates(library)) == len(groups)
        finally:
            duplicates.image_hashes = original
        assert calls == []


@pytest.mark.parametrize("pairs_from", ["all against all", "a throwaway graph", "the library's graph"])
def test_similar_groups_from_embeddings_and_moving_copies_to_the_trash(
    tmp_path: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch, pairs_from: str
) -> None:
    """The same groups whichever way the look-alike pairs are found (``library.look_alikes``)."""
    from joytag_desktop.library import look_alikes
    from joytag_desktop.library import vectors as vectors_module
    from joytag_desktop.library.duplicates import find_duplicates, move_to_trash

    if pairs_from == "a throwaway graph":
        monkeypatch.setattr(look_alikes, "EXACT_UP_TO", 2)
    elif pairs_from == "the library's graph":
        monkeypatch.setattr(vectors_module, "FLAT_UP_TO", 4)
    db, embeddings = _library(tmp_path, 12, ndim=16, seed=9, textured=True)
    ids = sorted(embeddings)
    with Library(db) as library:
        twin = embeddings[ids[0]] + 0.01
        _store(library, "alpha", {ids[3]: twin, ids[4]: embeddings[ids[0]] * 2})
        groups = find_duplicates(library, kinds=("similar",), similarity=0.99)
        assert [sorted(i.id for i in g.images) for g in groups] == [[ids[0], ids[3], ids[4]]]
        with library.similarity.held(library.similarity.default_model().id) as index:
            assert index is not None and index.store.kind == ("graph" if "library" in pairs_from else "flat")
        outside = Path(library.image(ids[4]).path).name  # a query leaves one of them out of the comparison
        scoped = find_duplicates(library, kinds=("similar",), similarity=0.99, query=f"-name:{outside}")
        assert [sorted(i.id for i in g.images) for g in scoped] == [[ids[0], ids[3]]]
        assert groups[0].kind == "similar" and groups[0].similarity >= 0.99
        group = groups[0]
        doomed = [i.path for i in group.others]
        sidecar = Path(doomed[0] + ".xmp")
        sidecar.write_text("<x:xmpmeta xmlns:x='adobe:ns:meta/'/>")
        report = move_to_trash(library, [(group.keep, [i.id for i in group.others])])
        assert sorted(report.moved) == sorted(doomed) and not report.failed and not report.skipped
        trash = isolated_home / "xdg-data" / "Trash" / "files"
        assert {p.name for p in trash.iterdir()} == {Path(p).name for p in doomed} | {sidecar.name}
        assert all(not Path(p).exists() for p in doomed)
        assert library.images([i.id for i in group.others]) == []
        assert Path(library.image(group.keep).path).exists()
        assert find_duplicates(library, kinds=("similar",), similarity=0.99) == []


@pytest.mark.slow
def test_cli_similar_and_duplicates(tmp_path: Path, isolated_home: Path, capsys) -> None:
    from joytag_desktop.cli.main import main

    copies = _transformed_copies(tmp_path / "photos")
    again = tmp_path / "photos" / "sub" / "rocket-again.png"  # byte-identical, in the rocket's near group
    again.parent.mkdir()
    again.write_bytes((tmp_path / "photos" / "rocket.png").read_bytes())
    near_copies = sum(len(p) - 1 for p in copies.values())
    db = tmp_path / "library.sqlite3"
    with Library(db) as library:
        library.add_folder(tmp_path / "photos")
        library.scan([tmp_path / "photos"])
        ids = sorted(i.id for i in library.images(library.search("").ids))
        rng = np.random.default_rng(1)
        _store(library, "alpha", {i: rng.standard_normal(8).astype(np.float32) for i in ids})
        source = library.image(ids[0]).path
        expected = [library.image(m.image_id).path for m in library.similar(ids[0], limit=4)]
    assert main(["--db", str(db), "similar", source, "--limit", "4"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("  ", 1)[1] for line in lines] == expected
    assert all(-1.0 <= float(line.split()[0]) <= 1.0 for line in lines)
    assert main(["--db", str(db), "similar", str(tmp_path / "nope.jpg")]) == 2
    assert "no such image file" in capsys.readouterr().err

    assert main(["--db", str(db), "duplicates", "--format", "json"]) == 0
    captured = capsys.readouterr()
    groups = json.loads(captured.out)
    assert len(groups) == len(copies) and "would go to the trash" in captured.err
    others = [i for g in groups for i in g["images"] if not i["keep"] and Path(i["path"]) != again]
    assert len(others) == near_copies and all(g["kind"] == "near" for g in groups)
    assert all(i["link"]["kind"] == "near" and 0 <= i["link"]["bits"] <= 12 and not i["trash"] for i in others)
    (twin,) = [i for g in groups for i in g["images"] if Path(i["path"]) == again]
    assert twin["trash"] and not twin["keep"]  # a byte-identical copy goes by default, even in a near group
    assert all(Path(p).exists() for paths in copies.values() for p in paths)  # a dry run touches nothing
    # --trash alone moves byte-identical copies only: the same picture re-encoded is a judgement call
    assert main(["--db", str(db), "duplicates", "--keep", "shortest-path", "--trash"]) == 0
    captured = capsys.readouterr()
    assert all(p.exists() for paths in copies.values() for p in paths) and not again.exists()
    assert f"{near_copies} near copies in {len(copies)} groups are only listed" in captured.err
    assert "--trash-kinds exact,near" in captured.err and "moved 1 copies" in captured.err
    assert captured.out.count("listed") == near_copies and captured.out.count(" trash ") == 1
    assert " bits" in captured.out  # each copy says how far it is from the kept one
    with pytest.raises(SystemExit) as exit_info:
        main(["--db", str(db), "duplicates", "--trash-kinds", "exact,blurry"])
    assert exit_info.value.code == 2 and "--trash-kinds" in capsys.readouterr().err
    assert (
        main(["--db", str(db), "duplicates", "--keep", "shortest-path", "--trash", "--trash-kinds", "exact,near"]) == 0
    )
    out = capsys.readouterr().out
    assert out.count("group ") == len(copies)
    for paths in copies.values():
        assert [p.exists() for p in paths] == [True] + [False] * (len(paths) - 1)  # the original's name is shortest
    trashed = list((isolated_home / "xdg-data" / "Trash" / "files").iterdir())
    assert len(trashed) == near_copies + 1
    with Library(db) as library:
        assert library.count("") == len(copies)
    assert main(["--db", str(db), "duplicates"]) == 0
    assert "0 groups" in capsys.readouterr().err


@pytest.mark.slow
def test_duplicates_survive_hostile_files(tmp_path: Path) -> None:
    """A FIFO (a file replaced by one after the scan), a truncated JPEG and a decompression bomb get
    no hash or a harmless one; the rest is grouped, and nothing hangs."""
    from helpers.images import png_bomb, truncated_copy
    from joytag_desktop.library.duplicates import find_duplicates

    photos = tmp_path / "photos"
    copies = _transformed_copies(photos)
    fifo_later = photos / "zz-fifo.jpg"
    write_photo(fifo_later)
    truncated_copy(photos / "rocket-reencoded.jpg", photos / "zz-truncated.jpg", keep=0.3)
    png_bomb(photos / "zz-bomb.png")
    with Library(tmp_path / "library.sqlite3") as library:
        library.add_folder(photos)
        library.scan([photos])
        fifo_later.unlink()
        os.mkfifo(fifo_later)
        groups = find_duplicates(library)
        grouped = {Path(i.path).name for g in groups for i in g.images}
        assert fifo_later.name not in grouped and "zz-bomb.png" not in grouped
        assert {p.name for paths in copies.values() for p in paths} <= grouped


def test_a_like_term_is_resolved_once_until_something_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db, embeddings = _library(tmp_path, 20, seed=6)
    source = min(embeddings)
    with Library(db) as library:
        path = library.image(source).path
        library.search(f'like:"{path}"')  # builds (and saves) the indexes: those writes are commits too
        calls = []
        original = library.similarity.nearest
        monkeypatch.setattr(library.similarity, "nearest", lambda *a, **k: calls.append(a) or original(*a, **k))
        first = library.search(f'like:"{path}"', sort="similarity").ids
        assert library.search(f'like:"{path}" cat', sort="similarity").ids == [i for i in first if i % 2 == 0]
        assert library.count(f'like:"{path}"') == len(first)
        assert len(calls) == 1
        _store(library, "alpha", {max(embeddings): embeddings[source]})  # a commit: asked again
        again = library.search(f'like:"{path}"', sort="similarity").ids
        assert len(calls) == 2 and again[0] == max(embeddings)


def test_flat_colours_and_tiny_images_are_never_near_duplicates(tmp_path: Path) -> None:
    """A blank red and a blank blue picture hash alike (no content): only exact copies group them."""
    from joytag_desktop.library.duplicates import find_duplicates

    photos = tmp_path / "photos"
    write_photo(photos / "red.jpg", size=(640, 480), color=(200, 20, 20))
    write_photo(photos / "blue.jpg", size=(640, 480), color=(20, 20, 200))
    write_photo(photos / "icon-a.png", size=(8, 8), color=(1, 2, 3))
    write_photo(photos / "icon-b.png", size=(8, 8), color=(200, 100, 0))
    (photos / "red-again.jpg").write_bytes((photos / "red.jpg").read_bytes())
    with Library(tmp_path / "library.sqlite3") as library:
        library.add_folder(photos)
        library.scan([photos])
        groups = find_duplicates(library)
        assert [sorted(Path(i.path).name for i in g.images) for g in groups] == [["red-again.jpg", "red.jpg"]]
        assert groups[0].kind == "exact"


@pytest.mark.slow
def test_hashing_cancelled_part_way_keeps_what_it_computed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from joytag_desktop.library import duplicates

    monkeypatch.setattr(duplicates, "STORE_EVERY", 4)
    _transformed_copies(tmp_path / "photos")
    with Library(tmp_path / "library.sqlite3") as library:
        library.add_folder(tmp_path / "photos")
        library.scan([tmp_path / "photos"])
        cancel = threading.Event()
        seen = []

        def progress(stage: str, done: int, total: int) -> None:
            seen.append(done)
            if done >= 4:
                cancel.set()

        duplicates.ensure_hashes(library, progress=progress, cancel=cancel, workers=1)
        with library.engine.connect() as connection:
            (stored,) = connection.exec_driver_sql("SELECT count(*) FROM image_hashes").one()
        assert stored == 4 and max(seen) == 4
        assert len(duplicates.ensure_hashes(library)) == library.count("")  # the rest, later


# --- letting copies go safely -------------------------------------------------------------------


def _exact_group(library: Library, photos: Path, keep: str) -> tuple[int, list[int]]:
    """Scan ``photos`` and return the plan of its one exact group, keeping the file named ``keep``."""
    from joytag_desktop.library.duplicates import find_duplicates

    library.add_folder(photos)
    library.scan([photos])
    (group,) = find_duplicates(library, kinds=("exact",))
    kept = library.image_by_path(photos / keep).id
    return kept, [i.id for i in group.images if i.id != kept]


def _trashed(home: Path) -> set[str]:
    files = home / "xdg-data" / "Trash" / "files"
    return {p.name for p in files.iterdir()} if files.exists() else set()


def test_each_copy_is_checked_again_right_before_it_goes(tmp_path: Path, isolated_home: Path) -> None:
    """After the scan one copy was overwritten by another picture (now its only copy), one by other
    bytes of the same size and with its old mtime, one replaced by a FIFO: only the untouched copy
    goes; the others stay, in the library too, each reported; nothing blocks on the FIFO."""
    from joytag_desktop.library.duplicates import move_to_trash

    photos = tmp_path / "photos"
    photos.mkdir()
    rocket = (FIXTURE_IMAGES / "rocket.jpg").read_bytes()
    for name in ("a.jpg", "b-copy.jpg", "c-overwritten.jpg", "d-same-size.jpg", "e-fifo.jpg"):
        (photos / name).write_bytes(rocket)
    with Library(tmp_path / "library.sqlite3") as library:
        plan = _exact_group(library, photos, "a.jpg")
        chelsea = (FIXTURE_IMAGES / "chelsea.png").read_bytes()
        (photos / "c-overwritten.jpg").write_bytes(chelsea)
        same_size = photos / "d-same-size.jpg"
        before = same_size.stat()
        changed = bytearray(rocket)
        changed[len(changed) // 2] ^= 0xFF
        same_size.write_bytes(changed)
        os.utime(same_size, ns=(before.st_atime_ns, before.st_mtime_ns))
        assert same_size.stat().st_mtime == before.st_mtime and same_size.stat().st_size == before.st_size
        (photos / "e-fifo.jpg").unlink()
        os.mkfifo(photos / "e-fifo.jpg")
        result: list = []
        worker = threading.Thread(target=lambda: result.append(move_to_trash(library, [plan])), daemon=True)
        worker.start()
        worker.join(60)
        assert not worker.is_alive() and len(result) == 1
        report = result[0]
        assert report.moved == [str(photos / "b-copy.jpg")] and not report.failed
        skipped = dict(report.skipped)
        assert set(skipped) == {str(photos / n) for n in ("c-overwritten.jpg", "d-same-size.jpg", "e-fifo.jpg")}
        assert all("rescan first" in reason for reason in skipped.values())
        assert "regular file" in skipped[str(photos / "e-fifo.jpg")]
        assert _trashed(isolated_home) == {"b-copy.jpg"}
        assert (photos / "c-overwritten.jpg").read_bytes() == chelsea and same_size.read_bytes() == changed
        assert os.path.exists(photos / "e-fifo.jpg") and (photos / "a.jpg").read_bytes() == rocket
        left = {Path(library.image(i).path).name for i in library.search("").ids}
        assert left == {"a.jpg", "c-overwritten.jpg", "d-same-size.jpg", "e-fifo.jpg"}


@pytest.mark.parametrize("change", ["overwritten", "same size", "deleted", "fifo"])
def test_nothing_of_a_group_goes_when_the_kept_file_changed(tmp_path: Path, isolated_home: Path, change: str) -> None:
    """The kept file overwritten with another picture, or gone: its copy is now the only one."""
    from joytag_desktop.library.duplicates import move_to_trash

    photos = tmp_path / "photos"
    photos.mkdir()
    rocket = (FIXTURE_IMAGES / "rocket.jpg").read_bytes()
    for name in ("kept.jpg", "copy-1.jpg", "copy-2.jpg"):
        (photos / name).write_bytes(rocket)
    with Library(tmp_path / "library.sqlite3") as library:
        plan = _exact_group(library, photos, "kept.jpg")
        kept = photos / "kept.jpg"
        before = kept.stat()
        if change == "overwritten":
            kept.write_bytes((FIXTURE_IMAGES / "chelsea.png").read_bytes())
        elif change == "same size":
            kept.write_bytes(bytes(len(rocket)))
            os.utime(kept, ns=(before.st_atime_ns, before.st_mtime_ns))
        elif change == "deleted":
            kept.unlink()
        else:
            kept.unlink()
            os.mkfifo(kept)
        report = move_to_trash(library, [plan])
        assert report.moved == [] and len(report.skipped) == 2
        assert all("kept.jpg" in reason for _, reason in report.skipped)
        assert (photos / "copy-1.jpg").read_bytes() == rocket and (photos / "copy-2.jpg").read_bytes() == rocket
        assert _trashed(isolated_home) == set() and library.count("") == 3


def test_a_copy_takes_all_its_own_sidecars_and_none_of_another_image(tmp_path: Path, isolated_home: Path) -> None:
    """``a_copy.jpg.xmp`` and ``A_COPY.XMP`` are a_copy.jpg's alone; ``b.xmp`` is shared by b.jpg and
    b.png (another picture), so it stays when b.jpg goes; ``b.JPG.xmp`` goes with b.jpg."""
    from joytag_desktop.library.duplicates import move_to_trash

    photos = tmp_path / "photos"
    (photos / "copies").mkdir(parents=True)
    rocket = (FIXTURE_IMAGES / "rocket.jpg").read_bytes()
    (photos / "rocket.jpg").write_bytes(rocket)
    copies = photos / "copies"
    (copies / "a_copy.jpg").write_bytes(rocket)
    (copies / "b.jpg").write_bytes(rocket)
    (copies / "b.png").write_bytes((FIXTURE_IMAGES / "chelsea.png").read_bytes())
    xmp = "<x:xmpmeta xmlns:x='adobe:ns:meta/'/>"
    for name in ("a_copy.jpg.xmp", "A_COPY.XMP", "b.xmp", "b.JPG.xmp", "rocket.xmp"):
        (copies / name if name != "rocket.xmp" else photos / name).write_text(xmp)
    with Library(tmp_path / "library.sqlite3") as library:
        plan = _exact_group(library, photos, "rocket.jpg")
        report = move_to_trash(library, [plan])
        assert sorted(report.moved) == [str(copies / "a_copy.jpg"), str(copies / "b.jpg")]
        assert _trashed(isolated_home) == {"a_copy.jpg", "a_copy.jpg.xmp", "A_COPY.XMP", "b.jpg", "b.JPG.xmp"}
        assert sorted(p.name for p in copies.iterdir()) == ["b.png", "b.xmp"]
        assert (photos / "rocket.xmp").exists() and (photos / "rocket.jpg").exists()


def test_flat_colours_never_look_alike_by_embedding(tmp_path: Path) -> None:
    """Blank pictures embed alike; like near copies, they can only be exact duplicates (and tiny
    icons too). Pictures with content whose embeddings match still group."""
    from joytag_desktop.library.duplicates import find_duplicates

    photos = tmp_path / "photos"
    for n in range(6):
        write_photo(photos / f"flat-{n}.jpg", size=(640, 480), color=(40 * n, 90, 200 - 30 * n))
    write_photo(photos / "icon.png", size=(16, 16), color=(1, 2, 3))
    for n in range(3):
        _textured(photos / f"noise-{n}.jpg", 70 + n)
    vector = np.random.default_rng(4).standard_normal(16).astype(np.float32)
    with Library(tmp_path / "library.sqlite3") as library:
        library.add_folder(photos)
        library.scan([photos])
        ids = library.search("").ids
        assert len(ids) == 10
        rng = np.random.default_rng(5)
        _store(library, "alpha", {i: vector + rng.standard_normal(16).astype(np.float32) * 0.001 for i in ids})
        groups = find_duplicates(library, kinds=("similar",), similarity=0.99)
        assert [sorted(Path(i.path).name for i in g.images) for g in groups] == [
            ["noise-0.jpg", "noise-1.jpg", "noise-2.jpg"]
        ]
        assert groups[0].kind == "similar" and all(link.value >= 0.99 for link in groups[0].links.values())


def test_cli_trash_reports_a_copy_changed_since_the_scan_and_leaves_it(
    tmp_path: Path, isolated_home: Path, capsys
) -> None:
    from joytag_desktop.cli.main import main

    photos = tmp_path / "photos"
    photos.mkdir()
    rocket = (FIXTURE_IMAGES / "rocket.jpg").read_bytes()
    for name in ("a.jpg", "copy-b.jpg", "copy-c.jpg"):
        (photos / name).write_bytes(rocket)
    db = tmp_path / "library.sqlite3"
    with Library(db) as library:
        library.add_folder(photos)
        library.scan([photos])
    chelsea = (FIXTURE_IMAGES / "chelsea.png").read_bytes()
    (photos / "copy-c.jpg").write_bytes(chelsea)  # now the only copy of another picture
    assert main(["--db", str(db), "duplicates", "--keep", "shortest-path", "--trash"]) == 1
    err = capsys.readouterr().err
    assert f"joytag-desktop: left {photos / 'copy-c.jpg'}: changed since the last scan; rescan first" in err
    assert "moved 1 copies" in err and "Traceback" not in err
    assert (photos / "copy-c.jpg").read_bytes() == chelsea and not (photos / "copy-b.jpg").exists()
    assert _trashed(isolated_home) == {"copy-b.jpg"}


@pytest.mark.parametrize("changed", ["copy", "kept"])
def test_a_rescan_between_finding_and_trashing_moves_nothing_that_changed(
    tmp_path: Path, isolated_home: Path, changed: str
) -> None:
    """Found in review: the window stays open while the watcher rescans; a copy (or the kept file)
    overwritten with another picture and rescanned matched its fresh row, so it (or the only copy
    left of the old picture) went. What the user was shown is what must still hold."""
    from joytag_desktop.library.duplicates import find_duplicates, move_to_trash

    photos = tmp_path / "photos"
    photos.mkdir()
    rocket = (FIXTURE_IMAGES / "rocket.jpg").read_bytes()
    (photos / "a.jpg").write_bytes(rocket)
    (photos / "b.jpg").write_bytes(rocket)
    with Library(tmp_path / "library.sqlite3") as library:
        library.add_folder(photos)
        library.scan([photos])
        (group,) = find_duplicates(library, kinds=("exact",))
        shown = {image.id: image for image in group.images}
        kept = library.image_by_path(photos / "a.jpg").id
        copy = library.image_by_path(photos / "b.jpg").id
        target = photos / ("b.jpg" if changed == "copy" else "a.jpg")
        target.write_bytes((FIXTURE_IMAGES / "chelsea.png").read_bytes())
        os.utime(target, (1_700_000_000, 1_700_000_000))
        library.scan([photos])
        report = move_to_trash(library, [(kept, [copy])], shown=shown)
        assert report.moved == [] and len(report.skipped) == 1 and "find them again" in report.skipped[0][1]
        assert _trashed(isolated_home) == set() and (photos / "b.jpg").exists()


def test_a_short_sidecar_another_file_may_own_stays(tmp_path: Path, isolated_home: Path) -> None:
    """`IMG_1.xmp` beside `IMG_1.jpg` and a RAW (or MOV, PSD) the app does not index may be that
    file's sidecar (Lightroom, Bridge): it stays when the JPEG copy goes; `IMG_1.jpg.xmp` goes."""
    from joytag_desktop.library.duplicates import own_sidecars

    names = ["IMG_1.jpg", "IMG_1.3fr", "IMG_1.xmp", "IMG_1.jpg.xmp"]
    assert own_sidecars("IMG_1.jpg", names) == ["IMG_1.jpg.xmp"]
    assert own_sidecars("IMG_1.jpg", ["IMG_1.jpg", "IMG_1.MOV", "IMG_1.xmp"]) == []
    assert own_sidecars("IMG_1.jpg", ["IMG_1.jpg", "IMG_1.xmp"]) == ["IMG_1.xmp"]
