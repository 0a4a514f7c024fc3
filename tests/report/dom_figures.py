#!/usr/bin/env python3
"""Reads the figures a person sees on a report page from Chromium's
--dump-dom output and prints them as JSON, for e2e_report.sh to compare
with what jq computes from the events.  Numbers are read from the cells'
text (thousands separators removed), not from attributes."""
import json
import sys
from html.parser import HTMLParser


class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids = {}          # element id -> text
        self.stack = []        # open elements: (tag, id, table id)
        self.table = None
        self.section = None    # tbody / tfoot
        self.rows = {}         # table id -> [[cell text]]
        self.row = None
        self.cell = None
        self.scripts = 0
        self.map = []          # world map shapes: [cc, data-verdict, fill, tooltip]
        self.in_shape = False
        self.legend = []       # the map legend's swatches: [fill, label]

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == 'script':
            self.scripts += 1
        if tag == 'path' and 'data-cc' in a and any(i == 'world-map' for _, i in self.stack):
            self.map.append([a['data-cc'], a.get('data-verdict'), a.get('fill'), ''])
            self.in_shape = True
        if tag == 'rect' and any(i == 'map-legend' for _, i in self.stack):
            self.legend.append([a.get('fill'), ''])
        if tag == 'table':
            self.table = a.get('id')
            self.rows.setdefault(self.table, [])
        if tag in ('tbody', 'tfoot', 'thead'):
            self.section = tag
        if tag == 'tr' and self.section == 'tbody':
            self.row = []
        if tag in ('td', 'th') and self.row is not None:
            self.cell = ''
        if tag not in ('br', 'meta', 'input', 'rect'):
            self.stack.append((tag, a.get('id')))
            if a.get('id'):
                self.ids[a['id']] = ''

    def handle_endtag(self, tag):
        if tag == 'path':
            self.in_shape = False
        if tag in ('td', 'th') and self.cell is not None and self.row is not None:
            self.row.append(self.cell.strip())
            self.cell = None
        if tag == 'tr' and self.row is not None:
            self.rows[self.table].append(self.row)
            self.row = None
        if tag in ('tbody', 'tfoot', 'thead'):
            self.section = None
        # an end tag of an element never pushed (a void or excluded one) closes nothing
        while self.stack and any(t == tag for t, _ in self.stack):
            t, _ = self.stack.pop()
            if t == tag:
                break

    def handle_data(self, data):
        if self.in_shape:
            self.map[-1][3] += data
        if self.legend and any(i == 'map-legend' for _, i in self.stack):
            self.legend[-1][1] += data
        if self.cell is not None:
            self.cell += data
        for _, i in self.stack:
            if i:
                self.ids[i] += data


def num(s):
    return int(s.replace(',', ''))


p = Page()
p.feed(open(sys.argv[1], encoding='utf-8').read())
out = {
    'summary': sorted([r[0], r[1], r[2], num(r[3]), num(r[4]), num(r[5])] for r in p.rows.get('summary', [])),
    'countries': sorted([r[0], num(r[1]), num(r[2]), num(r[3]), num(r[4]), num(r[5])] for r in p.rows.get('countries', [])),
    'flows': [r for r in p.rows.get('flow-list', [])],
    'rejudged': [r for r in p.rows.get('rejudged', [])],
    'logs': p.rows.get('logs', []),
    'chains': p.rows.get('chains', []),
    'captures': p.rows.get('captures', []),
    'total_flows': num(p.ids.get('total-flows', '-1')),
    'total_block': num(p.ids.get('total-block', '-1')),
    'total_log': num(p.ids.get('total-log', '-1')),
    'total_allow': num(p.ids.get('total-allow', '-1')),
    'flagged': num(p.ids.get('flagged-count', '-1')),
    'rejudged_count': num(p.ids.get('rejudged-count', '-1')),
    'version': p.ids.get('version', '').strip(),
    'gaps': p.ids.get('gaps', '').strip(),
    'scripts': p.scripts,
    'map': p.map,
    'map_legend': [[f, l.replace('\xa0', ' ').strip()] for f, l in p.legend],
    'map_missing': p.ids.get('map-missing', '').strip(),
    'map_off': p.ids.get('map-off', '').strip(),
    'map_attribution': p.ids.get('map-attribution', '').strip(),
    'chart': 'chart' in p.ids,
}
json.dump(out, sys.stdout)
