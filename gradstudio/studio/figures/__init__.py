"""What the window draws, without Qt: the graph's layered layout and the plots on a given Axes."""
