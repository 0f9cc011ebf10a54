"""Pure domain of hazfleet: missions, site maps, clocks. No I/O lives here."""
