#!/usr/bin/env bash
# Bad-data detection benchmarks of BENCHMARKS.md: bots on the simulator (2 seeds) and
# corrupted interactions on ml-100k. Usage:
#   crates/assay-value/bench/detection.sh BIN_DIR ML100K_DIR OUT_DIR
# where BIN_DIR holds the release examples `bots` and `corruption`
# (cargo build --release -p assay-value --example bots --example corruption;
#  BIN_DIR=target/release/examples).
set -euo pipefail
bin=$1 ml=$2 out=$3
mkdir -p "$out"
TIMEFORMAT='wall %R s, user %U s, sys %S s'
{ nproc; uptime; } > "$out/machine.txt"
for seed in 1 2; do
  { time "$bin/bots" seed=$seed tmc=4 beta=8 oob=100 > "$out/bots_seed$seed.txt"; } 2> "$out/bots_seed$seed.time"
done
{ time "$bin/bots" seed=1 base methods=loo,msr > "$out/bots_base_seed1.txt"; } 2> "$out/bots_base_seed1.time"
for model in itemknn itemknn:shrink=50 ease:reg=100; do
  for seed in 1 2; do "$bin/bots" seed=$seed model=$model check; done
done > "$out/bots_models_check.txt"
{ time "$bin/corruption" "$ml" bags=30 > "$out/corruption_seed1.txt"; } 2> "$out/corruption_seed1.time"
uptime > "$out/uptime.txt"
