#!/usr/bin/env bash
# Gathers the detector's "faces from the world" into one folder with a manifest: generated
# faces from public repositories (bare git mirrors, e.g. from `git clone --mirror`), and
# real photos from ../shared/data plus the FFHQ photos of one of those repositories.
#
#   scripts/prepare_detector_data.sh --mirrors DIR [--shared ../shared/data] [--out data/detect-world]
#
# DIR holds one git directory per repository, as DIR/<owner>+<name>/repo, DIR/<owner>+<name>.git
# or DIR/<owner>+<name>. Writes OUT/<source>/ (the image files, as they are in the repository)
# and OUT/manifest.tsv (path relative to OUT, source, label, family), OUT/sources.tsv (source,
# repository, commit, folder, count, licence). Empty files and files that are not JPEG or PNG
# (by their first bytes) are left out and counted. The images are not re-encoded here:
# `facegen detect train-world` and `detect measure-world` re-encode both classes alike.
set -euo pipefail

mirrors=""
shared="../shared/data"
out="data/detect-world"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --mirrors) mirrors="$2"; shift 2 ;;
    --shared) shared="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "prepare_detector_data: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[[ -n "$mirrors" ]] || { echo "prepare_detector_data: --mirrors DIR is required" >&2; exit 2; }
[[ -d "$mirrors" ]] || { echo "prepare_detector_data: mirrors folder '$mirrors' does not exist" >&2; exit 1; }

git_dir_of() {  # owner/name -> its git directory under $mirrors
  local key="${1/\//+}"
  for candidate in "$mirrors/$key/repo" "$mirrors/$key.git" "$mirrors/$key"; do
    if git --git-dir="$candidate" rev-parse --verify -q HEAD >/dev/null 2>&1; then echo "$candidate"; return 0; fi
  done
  echo "prepare_detector_data: no git mirror of $1 under '$mirrors'" >&2
  return 1
}

is_image() {  # JPEG (FF D8 FF) or PNG (89 'PNG') by the first bytes
  local magic
  magic=$(head -c 4 "$1" | od -An -tx1 | tr -d ' \n')
  [[ "$magic" == ffd8ff* || "$magic" == 89504e47 ]]
}

mkdir -p "$out"
manifest="$out/manifest.tsv.tmp"
sources="$out/sources.tsv.tmp"
printf 'path\tsource\tlabel\tfamily\n' >"$manifest"
printf 'source\trepository\tcommit\tfolder\tcount\tdropped\tlicence\n' >"$sources"

# extract SOURCE REPO FOLDER LABEL FAMILY LICENCE: every file under FOLDER at HEAD.
extract() {
  local source="$1" repo="$2" folder="$3" label="$4" family="$5" licence="$6"
  local git_dir commit count=0 dropped=0
  git_dir=$(git_dir_of "$repo")
  commit=$(git --git-dir="$git_dir" rev-parse HEAD)
  rm -rf "${out:?}/$source"
  mkdir -p "$out/$source"
  local pathspec=("$folder/")
  if [[ "$folder" == "." ]]; then pathspec=(); fi
  while IFS= read -r path; do
    local name="$path"
    [[ "$folder" == "." ]] || name="${path#"$folder"/}"
    name="${name//\//_}"
    local target="$out/$source/$name"
    git --git-dir="$git_dir" cat-file blob "$commit:$path" >"$target"
    if [[ ! -s "$target" ]] || ! is_image "$target"; then
      rm -f "$target"
      dropped=$((dropped + 1))
      continue
    fi
    printf '%s\t%s\t%s\t%s\n' "$source/$name" "$source" "$label" "$family" >>"$manifest"
    count=$((count + 1))
  done < <(git --git-dir="$git_dir" ls-tree -r --name-only "$commit" -- "${pathspec[@]}" | grep -i -E '\.(jpe?g|png)$' | sort)
  printf '%s\t%s\t%s\t%s\t%d\t%d\t%s\n' "$source" "$repo" "$commit" "$folder" "$count" "$dropped" "$licence" >>"$sources"
  echo "$source: $count images ($dropped dropped) from $repo@${commit:0:12}:$folder" >&2
}

# link_real SOURCE FOLDER LICENCE: real photos already on this machine, linked, not copied.
link_real() {
  local source="$1" folder="$2" licence="$3" count=0
  [[ -d "$folder" ]] || { echo "prepare_detector_data: real photos '$folder' not found" >&2; return 1; }
  rm -rf "${out:?}/$source"
  ln -s "$(cd "$folder" && pwd)" "$out/$source"
  while IFS= read -r name; do
    printf '%s\t%s\t%s\t%s\n' "$source/$name" "$source" real photo >>"$manifest"
    count=$((count + 1))
  done < <(cd "$folder" && find . -maxdepth 1 -type f -size +0 \( -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.png' \) \
             | sed 's#^\./##' | sort)
  printf '%s\t%s\t%s\t%s\t%d\t%d\t%s\n' "$source" "local" "-" "$folder" "$count" 0 "$licence" >>"$sources"
  echo "$source: $count real photos linked from $folder" >&2
}

extract hmdghoul-generated-faces hmdghoul/generated-faces images generated stylegan \
  "none stated (no licence file)"
extract basemax-fakefaces BaseMax/FakeFaces faces generated stylegan "GPL-3.0 (repository LICENSE)"
extract tpdne-examples junguler/TPDNE_example_images . generated stylegan "none stated (no licence file)"
extract realorfake-stylegan2 dinablachman/realorfake data/fake generated stylegan \
  "MIT (README; images from thispersondoesnotexist.com)"
extract sdfd-sd21 gebaltso/SDFD allImages generated diffusion "none stated (no licence file; FG 2024 paper dataset)"
extract realorfake-ffhq dinablachman/realorfake data/real real photo \
  "MIT (README); FFHQ images: CC BY-NC-SA 4.0 / their Flickr licences"
link_real utkface "$shared/utkface" "UTKFace: non-commercial research only"
link_real celeba-6k "$shared/celeba-6k" "CelebA: non-commercial research only"

mv "$manifest" "$out/manifest.tsv"
mv "$sources" "$out/sources.tsv"
echo "$out/manifest.tsv: $(($(wc -l <"$out/manifest.tsv") - 1)) images" >&2
