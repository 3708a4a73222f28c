"""Service levels (docs/service-levels.md): business calendars and the clocks of a
ticket, as pure functions of their inputs; ``actions.service_levels`` stores what
they compute."""
