/*
 * classify/flow_table.c -- the bounded flow table.
 *
 * A fixed pool of flows allocated once (no allocation per packet or per
 * flow), an open-addressing index twice the pool's size with linear probing
 * and backward-shift deletion, and an LRU list through the pool for idle
 * timeouts and eviction.  Keys are normalised (lower address first) so both
 * directions find the same flow; the hash is therefore symmetric, which is
 * also what shards flows across workers.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static inline uint32_t mix32(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x7feb352d;
	h ^= h >> 15;
	h *= 0x846ca68b;
	h ^= h >> 16;
	return h;
}

uint32_t flow_key_hash(const struct flow_key *k)
{
	uint32_t h = 0x9e3779b9u ^ k->l4;
	/* An IPv4 address is its first word (the rest are zero): one round,
	 * not four, for the common case (the hash only places the flow in the
	 * index; keys are compared whole). */
	int words = k->lo.family == 4 && k->hi.family == 4 ? 1 : 4;

	for (int i = 0; i < words; i++)
		h = mix32(h ^ k->lo.w[i]) + k->hi.w[i];
	h = mix32(h ^ ((uint32_t)k->lo_port << 16 | k->hi_port));
	return h;
}

static int addr_cmp(const struct ef_addr *a, const struct ef_addr *b)
{
	return memcmp(a->b, b->b, a->family == 4 ? 4 : 16);
}

void flow_key_make(const struct packet *p, struct flow_key *k, bool *src_is_lo)
{
	int c = addr_cmp(&p->src, &p->dst);
	bool lo = c < 0 || (c == 0 && p->sport <= p->dport);

	memset(k, 0, sizeof(*k));
	k->l4 = p->l4;
	k->lo = lo ? p->src : p->dst;
	k->hi = lo ? p->dst : p->src;
	k->lo_port = lo ? p->sport : p->dport;
	k->hi_port = lo ? p->dport : p->sport;
	*src_is_lo = lo;
}

uint32_t flow_hash(const struct packet *p)
{
	struct flow_key k;
	bool lo;

	flow_key_make(p, &k, &lo);
	return flow_key_hash(&k);
}

bool flow_table_init(struct flow_table *t, uint32_t cap)
{
	uint32_t slots = 1;

	memset(t, 0, sizeof(*t));
	while (slots < cap * 2u)
		slots <<= 1;
	t->pool = calloc(cap, sizeof(*t->pool));
	t->index = calloc(slots, sizeof(*t->index));
	if (!t->pool || !t->index) {
		flow_table_destroy(t);
		return false;
	}
	t->cap = cap;
	t->index_mask = slots - 1;
	t->free_head = FLOW_NIL;
	t->never_used = 0;
	for (int i = 0; i < FLOW_LISTS; i++)
		t->lru_head[i] = t->lru_tail[i] = FLOW_NIL;
	return true;
}

void flow_table_destroy(struct flow_table *t)
{
	free(t->pool);
	free(t->index);
	memset(t, 0, sizeof(*t));
}

static bool key_equal(const struct flow_key *a, const struct flow_key *b)
{
	return a->l4 == b->l4 && a->lo_port == b->lo_port && a->hi_port == b->hi_port &&
	       memcmp(&a->lo, &b->lo, sizeof(a->lo)) == 0 && memcmp(&a->hi, &b->hi, sizeof(a->hi)) == 0;
}

struct flow *flow_table_lookup(struct flow_table *t, const struct flow_key *k, uint32_t hash)
{
	for (uint32_t i = hash & t->index_mask;; i = (i + 1) & t->index_mask) {
		uint32_t slot = t->index[i];
		if (!slot)
			return NULL;
		struct flow *f = &t->pool[slot - 1];
		if (f->hash == hash && key_equal(&f->key, k))
			return f;
	}
}

static void lru_unlink(struct flow_table *t, struct flow *f)
{
	uint32_t self = (uint32_t)(f - t->pool);

	if (f->lru_prev != FLOW_NIL)
		t->pool[f->lru_prev].lru_next = f->lru_next;
	if (f->lru_next != FLOW_NIL)
		t->pool[f->lru_next].lru_prev = f->lru_prev;
	if (t->lru_head[f->lru_list] == self)
		t->lru_head[f->lru_list] = f->lru_next;
	if (t->lru_tail[f->lru_list] == self)
		t->lru_tail[f->lru_list] = f->lru_prev;
}

static void lru_push_head(struct flow_table *t, struct flow *f)
{
	uint32_t self = (uint32_t)(f - t->pool);

	uint8_t l = f->lru_list;

	f->lru_prev = FLOW_NIL;
	f->lru_next = t->lru_head[l];
	if (t->lru_head[l] != FLOW_NIL)
		t->pool[t->lru_head[l]].lru_prev = self;
	t->lru_head[l] = self;
	if (t->lru_tail[l] == FLOW_NIL)
		t->lru_tail[l] = self;
}

struct flow *flow_table_insert(struct flow_table *t, const struct flow_key *k, uint32_t hash)
{
	uint32_t idx;

	if (t->free_head != FLOW_NIL) {
		idx = t->free_head;
		t->free_head = t->pool[idx].lru_next;
	} else if (t->never_used < t->cap) {
		idx = t->never_used++;
	} else {
		return NULL;
	}
	struct flow *f = &t->pool[idx];

	memset(f, 0, sizeof(*f));
	f->key = *k;
	f->hash = hash;
	uint32_t i = hash & t->index_mask;
	while (t->index[i])
		i = (i + 1) & t->index_mask;
	t->index[i] = idx + 1;
	lru_push_head(t, f);
	t->used++;
	return f;
}

void flow_table_remove(struct flow_table *t, struct flow *f)
{
	uint32_t idx = (uint32_t)(f - t->pool);
	uint32_t i = f->hash & t->index_mask;

	while (t->index[i] != idx + 1)
		i = (i + 1) & t->index_mask;
	/* Backward-shift deletion: pull later entries of the probe run into
	 * the hole, so lookups never need tombstones. */
	for (uint32_t j = (i + 1) & t->index_mask; t->index[j]; j = (j + 1) & t->index_mask) {
		uint32_t home = t->pool[t->index[j] - 1].hash & t->index_mask;
		if (((j - home) & t->index_mask) >= ((j - i) & t->index_mask)) {
			t->index[i] = t->index[j];
			i = j;
		}
	}
	t->index[i] = 0;
	lru_unlink(t, f);
	f->lru_next = t->free_head;
	t->free_head = idx;
	t->used--;
}

void flow_table_touch(struct flow_table *t, struct flow *f, uint8_t list)
{
	if (f->lru_list == list && t->lru_head[list] == (uint32_t)(f - t->pool))
		return;
	lru_unlink(t, f);
	f->lru_list = list;
	lru_push_head(t, f);
}

struct flow *flow_table_oldest(struct flow_table *t, uint8_t list)
{
	return t->lru_tail[list] == FLOW_NIL ? NULL : &t->pool[t->lru_tail[list]];
}

struct flow *flow_table_least_recent(struct flow_table *t)
{
	struct flow *best = NULL;

	for (uint8_t l = 0; l < FLOW_LISTS; l++) {
		struct flow *f = flow_table_oldest(t, l);
		if (f && (!best || f->last_clock < best->last_clock))
			best = f;
	}
	return best;
}
