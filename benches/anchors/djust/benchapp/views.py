"""The counter and 100x100 table of djust-bench, as djust (PyPI) LiveViews.

Same markup and handlers as benches/djust_bench/views.rs: `increment`
adds 1 to the counter; `bump` adds 1 to one cell of the table, walking
through the cells in order.
"""

from djust import LiveView, event_handler

SIZE = 100


class CounterView(LiveView):
    template_name = "counter.html"

    def mount(self, request, **kwargs):
        self.count = 0

    @event_handler
    def increment(self, by: int = 1, **kwargs):
        self.count += max(-1000, min(1000, int(by)))

    @event_handler
    def decrement(self, **kwargs):
        self.count -= 1

    @event_handler
    def reset(self, **kwargs):
        self.count = 0


class TableView(LiveView):
    template_name = "table.html"

    def mount(self, request, **kwargs):
        self.rows = [list(range(SIZE)) for _ in range(SIZE)]
        self.next_cell = 0

    @event_handler
    def bump(self, **kwargs):
        cell = self.next_cell % (SIZE * SIZE)
        self.next_cell += 1
        self.rows[cell // SIZE][cell % SIZE] += 1
        # Reassign so change detection sees the nested update.
        self.rows = self.rows
