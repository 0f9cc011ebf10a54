"""``make bench``: run every benchmark in turn."""

from bench import dispatch_latency

if __name__ == "__main__":
    print("## dispatch latency (bench/dispatch_latency.py)\n")
    dispatch_latency.main([])
