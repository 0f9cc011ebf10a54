"""``make bench``: run every benchmark in turn and print Markdown tables."""

from bench import (
    allocation,
    detect_eval,
    dispatch_latency,
    drill_speed,
    flame_fps,
    fusion_rate,
    localization,
    localization_drill,
    missions,
    sim_speed,
)

if __name__ == "__main__":
    print("## dispatch latency (bench/dispatch_latency.py)\n")
    dispatch_latency.main([])
    print("\n## drill speed (bench/drill_speed.py)\n")
    drill_speed.main([])
    print("\n## missions: API and scheduler (bench/missions.py)\n")
    missions.main([])
    print("\n## simulator speed, 200 x 200 gas grid (bench/sim_speed.py)\n")
    sim_speed.main([])
    print("\n## bundled drills in full (bench/sim_speed.py --drills)\n")
    sim_speed.main(["--drills"])
    print("\n## fusion: readings fused per second, 200 x 200 grid (bench/fusion_rate.py)\n")
    fusion_rate.main([])
    print("\n## gas source localization, h2s-leak geometry (bench/localization.py)\n")
    localization.main([])
    print("\n## source localization, live drills over the broker (bench/localization_drill.py)\n")
    localization_drill.main([])
    print("\n## flame detector at 640 x 480, one core (bench/flame_fps.py)\n")
    flame_fps.main([])
    print("\n## still flame decision, CAIR photos: tune vs held-out half (bench/detect_eval.py)\n")
    detect_eval.main([])
    print("\n## allocation: robots x missions on a 2,025-node site (bench/allocation.py)\n")
    allocation.main([])
