#!/usr/bin/env bash
# Downloads the public face models into a folder, for users with internet access who do not
# have the shared model pack. Each file is pinned by URL and SHA-256 and only kept when the hash
# matches. Not used by the tests (the build machines have no internet access).
#
#   scripts/download-models.sh DIR      then   export GLASSBOX_MODELS=DIR
#
# YuNet 2022mar is the detector Glassbox uses (newer YuNet files do not load in OpenCV 4.6).
# SFace is a recognizer for profiles/sface.json (glassbox watch --profile sface). The default
# recognizer, dlib_face_recognition_resnet_v1.onnx, is an ONNX conversion made for this project
# (see the shared models/MANIFEST.md); it has no public download.
set -euo pipefail

dir=${1:?usage: scripts/download-models.sh DIR}
mkdir -p "$dir"

models=(
  "face_detection_yunet_2022mar.onnx|https://github.com/opencv/opencv_zoo/raw/main/models/face_detection_yunet/face_detection_yunet_2022mar.onnx|50ef07f702a31741ca46a4c0d947773b64143b9362780237bf0d427d6c79bab7"
  "face_recognition_sface_2021dec.onnx|https://github.com/opencv/opencv_zoo/raw/main/models/face_recognition_sface/face_recognition_sface_2021dec.onnx|0ba9fbfa01b5270c96627c4ef784da859931e02f04419c829e83484087c34e79"
)

status=0
for spec in "${models[@]}"; do
  IFS='|' read -r name url sha <<<"$spec"
  target="$dir/$name"
  if [ -f "$target" ] && echo "$sha  $target" | sha256sum --check --status; then
    echo "ok        $name (already present, hash matches)"
    continue
  fi
  partial="$target.partial"
  if ! curl --fail --location --silent --show-error --output "$partial" "$url"; then
    echo "FAILED    $name: download from $url failed" >&2
    rm -f "$partial"; status=1; continue
  fi
  if ! echo "$sha  $partial" | sha256sum --check --status; then
    echo "FAILED    $name: SHA-256 does not match the pinned $sha; file discarded" >&2
    rm -f "$partial"; status=1; continue
  fi
  mv "$partial" "$target"
  echo "fetched   $name"
done
exit $status
