# Sourced by scripts/loadtest and scripts/loadgen-smoke.
# wait_port PORT: waits up to 30 s for a listener on 127.0.0.1:PORT.
wait_port() { for _ in $(seq 300); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 never opened" >&2; return 1; }
