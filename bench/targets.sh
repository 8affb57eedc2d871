#!/usr/bin/env bash
# Every CPU target of the serving engine in one sitting, on `base` folders: /embed against raw and the peer, one
# client, overload, preprocessing against the peer, /vqa against raw and the peer, and memory over 600 s.
# Run by hand from the repository root on an otherwise idle machine (about 45 minutes on 2 cores):
#   bash bench/targets.sh [output folder, default /tmp/vlm-targets]
# Model folders go to /tmp/models-clip and /tmp/models-vqa (made once). Ports 5088, 5089, 5122, 5300, 5301.
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:-/tmp/vlm-targets}
mkdir -p "$out"
img=../shared/images/photos/COCO_val2014_000000027440.jpg
bench=bench/VlmService.Bench/bin/Release/net10.0/VlmService.Bench
service="dotnet src/VlmService/bin/Release/net10.0/VlmService.dll"
clip=/tmp/models-clip/clip-base
vqa=/tmp/models-vqa/smolvlm-base

step() { echo "=== $(date +%T) $*"; }
# Answers at all: the peer has no health endpoint and listens once its model is loaded.
wait_for() { for _ in $(seq 1 180); do curl -s -o /dev/null "$1" && return 0; sleep 1; done; echo "no answer from $1" >&2; exit 1; }
stop() { kill "$@" 2>/dev/null || true; wait "$@" 2>/dev/null || true; }
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT

step "build, model folders, peer"
dotnet build VlmService.sln -c Release -v q -nologo >/dev/null
dotnet build bench/VlmService.Bench -c Release -v q -nologo >/dev/null
[ -d $clip ] || dotnet run --project tools/VlmService.ModelKit -c Release -- --family clip --preset base --seed 1 \
  --out $clip --tokenizer ../shared/reference/clip-vit-base-patch32
[ -d $vqa ] || dotnet run --project tools/VlmService.ModelKit -c Release -- --family smolvlm --preset base --seed 1 \
  --out $vqa --tokenizer ../shared/reference/SmolVLM-256M-Instruct
[ -d bench/peer/node_modules ] || (cd bench/peer && ONNXRUNTIME_NODE_INSTALL=skip npm ci --ignore-scripts)
[ -f "$out/photo-1080p.jpg" ] || node bench/peer/make-1080p.mjs $img "$out/photo-1080p.jpg"

# CLIP: the default service (one lane), one with two lanes (the throughput setting), the peer.
$service --urls http://127.0.0.1:5088 --Models:Root=$(dirname $clip) >"$out/service-1-lane.log" 2>&1 & one_lane=$!
$service --urls http://127.0.0.1:5089 --Models:Root=$(dirname $clip) --Batching:EncoderLanes=2 >"$out/service-2-lanes.log" 2>&1 & two_lanes=$!
(cd bench/peer && exec node server.mjs --port 5300 --clip $clip) >"$out/peer-clip.log" 2>&1 & peer=$!
wait_for http://127.0.0.1:5088/health/ready; wait_for http://127.0.0.1:5089/health/ready; wait_for http://127.0.0.1:5300/

step "/embed against raw: embed-ratio, two lanes"
$bench embed-ratio --url http://127.0.0.1:5089 --model clip-base --model-dir $clip --image $img --rounds 6 --seconds 12
step "/embed against the peer: service (two lanes) and peer in turn"
for _ in 1 2; do
  $bench load --url http://127.0.0.1:5089 --scenario embed-image --model clip-base --image $img --clients 32 --duration 12
  $bench load --url http://127.0.0.1:5300 --scenario embed-image --image $img --clients 32 --duration 12
done
stop $two_lanes $peer

step "one client (one lane, after 12 s of 32 clients)"
$bench load --url http://127.0.0.1:5088 --scenario embed-image --model clip-base --image $img --clients 32 --duration 12
for _ in 1 2 3; do
  $bench one-client --url http://127.0.0.1:5088 --model clip-base --model-dir $clip --image $img --pairs 300
done
step "capacity, then overload at twice it"
$bench load --url http://127.0.0.1:5088 --scenario embed-image --model clip-base --image $img --clients 32 --duration 12 | tee "$out/capacity.txt"
rate=$(grep -o 'req/s=[0-9.]*' "$out/capacity.txt" | tail -1 | cut -d= -f2 | awk '{printf "%d", $1 * 2 + 0.5}')
$bench load --url http://127.0.0.1:5088 --scenario embed-image --model clip-base --image $img \
  --overload-rate "$rate" --burst 20 --baseline 10 --recovery 35 --deadline-ms 2000
stop $one_lane

step "preprocessing, 1080p JPEG to CLIP input: service and peer in turn"
for _ in 1 2; do
  $bench preprocess --model-dir $clip --image "$out/photo-1080p.jpg" --concurrency 2 --seconds 15
  (cd bench/peer && node preprocess.mjs --clip $clip --image "$out/photo-1080p.jpg" --seconds 15 --concurrency 8)
done

# SmolVLM, feature cache off so that every request runs the vision encoder.
$service --urls http://127.0.0.1:5122 --Models:Root=$(dirname $vqa) --Generation:VisionFeatureCacheBytes=0 >"$out/service-vqa.log" 2>&1 & vqa_service=$!
wait_for http://127.0.0.1:5122/health/ready
step "/vqa against raw: vqa-ratio"
$bench vqa-ratio --url http://127.0.0.1:5122 --model smolvlm-base --model-dir $vqa --image $img --rounds 2
step "/vqa against the peer: peer, then service"
(cd bench/peer && exec node server.mjs --port 5301 --vlm $vqa) >"$out/peer-vqa.log" 2>&1 & peer=$!
wait_for http://127.0.0.1:5301/
$bench load --url http://127.0.0.1:5301 --scenario vqa --image $img --max-tokens 128 --clients 16 --duration 120
stop $peer
$bench load --url http://127.0.0.1:5122 --scenario vqa --model smolvlm-base --image $img --max-tokens 128 --clients 16 --duration 120
step "memory: /vqa for 600 s; weights $(du -cb $vqa/onnx/*.onnx | tail -1 | cut -f1) bytes"
$bench load --url http://127.0.0.1:5122 --scenario vqa --model smolvlm-base --image $img --max-tokens 128 --clients 16 --duration 600 --pid $vqa_service
stop $vqa_service
step done
