"""Pure planning: the state model, operations, capabilities, the planner, its simulator and run plans."""
