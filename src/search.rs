//! A generic multi-objective search engine: SPEA2, NSGA-II, random search, aging
//! evolution, constrained domination, hypervolume and IGD (see `docs/search.md`).
