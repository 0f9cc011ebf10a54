"""``make bench``: run every benchmark in turn and print Markdown tables."""

from bench import dispatch_latency, drill_speed, missions

if __name__ == "__main__":
    print("## dispatch latency (bench/dispatch_latency.py)\n")
    dispatch_latency.main([])
    print("\n## drill speed (bench/drill_speed.py)\n")
    drill_speed.main([])
    print("\n## missions: API and scheduler (bench/missions.py)\n")
    missions.main([])
