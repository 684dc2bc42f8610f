/* civicmash.analysis._fastroute: the compiled engine of the safe route's searches (issue 19, item 3).
 *
 * One call runs every weighting of the route planner's Pareto sweep between two nodes of the walk graph:
 * a bidirectional A* with landmark potentials (ALT, the average potential p(v) = (h_t(v) - h_s(v)) / 2 of
 * Goldberg & Harrelson, from the landmark distances the graph already keeps), exact for any weights at least as
 * long as the floored lengths the landmarks were measured on.  Each weighting after the first starts from the
 * cheapest path found so far, re-priced (an upper bound that prunes the search).  Also: the nearest node by a
 * scan (the CLI's two ends) and numpy's pairwise summation (so sums along a path equal numpy's, bit for bit).
 *
 * Arrays come in through the buffer protocol (numpy arrays or memoryviews of memory-mapped .npy files): no
 * numpy headers are needed to build it, and `civicmash route` answers from the stored model without importing
 * numpy.  analysis/fast_route.py and analysis/routing.py use it when it is built; without it they fall back to
 * scipy (same answers).  Built by setup.py (`pip install -e .`, or `python setup.py build_ext --inplace`).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MIN_WEIGHT 1e-3 /* csgraph treats 0 as no edge: weights are floored here, as WalkGraph.matrix does */
#define SHRINK (1.0 - 1e-9)

/* ---- buffers ------------------------------------------------------------------------------------------- */

/* 'd' double, 'i' int (any width, signed or not), '?' bool; 0 unknown */
static char buf_kind(const Py_buffer *v) {
    const char *f = v->format ? v->format : "B";
    while (*f == '<' || *f == '=' || *f == '@' || *f == '!') f++;
    switch (*f) {
    case 'd': return v->itemsize == 8 ? 'd' : 0;
    case '?': return '?';
    case 'b': case 'B': case 'h': case 'H': case 'i': case 'I': case 'l': case 'L': case 'q': case 'Q':
    case 'n': case 'N':
        return 'i';
    default: return 0;
    }
}

static int64_t buf_int(const Py_buffer *v, Py_ssize_t i) {
    const char *p = (const char *)v->buf + i * v->itemsize;
    const char *f = v->format ? v->format : "B";
    while (*f == '<' || *f == '=' || *f == '@' || *f == '!') f++;
    int is_unsigned = (*f == 'B' || *f == 'H' || *f == 'I' || *f == 'L' || *f == 'Q' || *f == 'N');
    switch (v->itemsize) {
    case 1: return is_unsigned ? (int64_t)*(const uint8_t *)p : (int64_t)*(const int8_t *)p;
    case 2: return is_unsigned ? (int64_t)*(const uint16_t *)p : (int64_t)*(const int16_t *)p;
    case 4: return is_unsigned ? (int64_t)*(const uint32_t *)p : (int64_t)*(const int32_t *)p;
    default: return *(const int64_t *)p;
    }
}

static int get_buf(PyObject *obj, Py_buffer *view, char want, const char *name) {
    if (PyObject_GetBuffer(obj, view, PyBUF_FORMAT | PyBUF_C_CONTIGUOUS) < 0) return -1;
    char kind = buf_kind(view);
    if (kind != want && !(want == 'i' && kind == '?')) {
        PyErr_Format(PyExc_TypeError, "%s: expected a buffer of %s, got format '%s'", name,
                     want == 'd' ? "float64" : "integers", view->format ? view->format : "B");
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static Py_ssize_t buf_len(const Py_buffer *v) { return v->itemsize ? v->len / v->itemsize : 0; }

/* int32 copy of an integer buffer */
static int32_t *copy_i32(PyObject *obj, const char *name, Py_ssize_t *n_out) {
    Py_buffer v;
    if (get_buf(obj, &v, 'i', name) < 0) return NULL;
    Py_ssize_t n = buf_len(&v);
    int32_t *out = (int32_t *)malloc(sizeof(int32_t) * (n ? n : 1));
    if (!out) { PyBuffer_Release(&v); PyErr_NoMemory(); return NULL; }
    if (v.itemsize == 4) memcpy(out, v.buf, (size_t)n * 4);
    else for (Py_ssize_t i = 0; i < n; i++) out[i] = (int32_t)buf_int(&v, i);
    PyBuffer_Release(&v);
    *n_out = n;
    return out;
}

static double *copy_f64(PyObject *obj, const char *name, Py_ssize_t *n_out) {
    Py_buffer v;
    if (get_buf(obj, &v, 'd', name) < 0) return NULL;
    Py_ssize_t n = buf_len(&v);
    double *out = (double *)malloc(sizeof(double) * (n ? n : 1));
    if (!out) { PyBuffer_Release(&v); PyErr_NoMemory(); return NULL; }
    memcpy(out, v.buf, (size_t)n * 8);
    PyBuffer_Release(&v);
    *n_out = n;
    return out;
}

/* ---- numpy's pairwise summation (numpy/_core/src/umath/loops_utils.h.src), for float64 -------------------- */

static double pairwise_sum(const double *a, Py_ssize_t n) {
    if (n < 8) {
        double res = -0.0;
        for (Py_ssize_t i = 0; i < n; i++) res += a[i];
        return res;
    } else if (n <= 128) {
        double r[8], res;
        Py_ssize_t i;
        for (int j = 0; j < 8; j++) r[j] = a[j];
        for (i = 8; i < n - (n % 8); i += 8) {
            for (int j = 0; j < 8; j++) r[j] += a[i + j];
        }
        res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++) res += a[i];
        return res;
    } else {
        Py_ssize_t n2 = n / 2;
        n2 -= n2 % 8;
        return pairwise_sum(a, n2) + pairwise_sum(a + n2, n - n2);
    }
}

/* numpy.add.reduce of a float64 vector: the identity (0.0) plus the pairwise sum */
static double np_sum(const double *a, Py_ssize_t n) { return 0.0 + pairwise_sum(a, n); }

/* ---- heap ---------------------------------------------------------------------------------------------- */

typedef struct { double key; int32_t node; } item_t;
typedef struct { item_t *a; Py_ssize_t n, cap; } heap_t;

static int heap_push(heap_t *h, double key, int32_t node) {
    if (h->n == h->cap) {
        Py_ssize_t cap = h->cap ? 2 * h->cap : 1024;
        item_t *a = (item_t *)realloc(h->a, sizeof(item_t) * cap);
        if (!a) return -1;
        h->a = a;
        h->cap = cap;
    }
    Py_ssize_t i = h->n++;
    while (i > 0) {
        Py_ssize_t p = (i - 1) / 2;
        if (h->a[p].key <= key) break;
        h->a[i] = h->a[p];
        i = p;
    }
    h->a[i].key = key;
    h->a[i].node = node;
    return 0;
}

static item_t heap_pop(heap_t *h) {
    item_t top = h->a[0], last = h->a[--h->n];
    Py_ssize_t i = 0, n = h->n;
    for (;;) {
        Py_ssize_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && h->a[c + 1].key < h->a[c].key) c++;
        if (last.key <= h->a[c].key) break;
        h->a[i] = h->a[c];
        i = c;
    }
    if (n) h->a[i] = last;
    return top;
}

/* ---- the engine ---------------------------------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    int32_t n, m, k;
    int32_t *indptr, *indices, *edge; /* CSR structure of the undirected graph; edge index per entry */
    double *length;                   /* per edge, metres */
    double *lm;                       /* landmark distances, transposed: lm[v * k + j] */
    /* workspace, reset by stamps */
    uint32_t stamp, pstamp;
    uint32_t *seen[2], *done[2], *pseen;
    double *g[2], *pot;
    int32_t *pred[2], *pentry[2];
    heap_t heap[2];
    double *w;                        /* per-edge density of the risk (sweep_risk) */
} Engine;

static void engine_free(Engine *E) {
    free(E->indptr); free(E->indices); free(E->edge); free(E->length); free(E->lm);
    for (int d = 0; d < 2; d++) {
        free(E->seen[d]); free(E->done[d]); free(E->g[d]); free(E->pred[d]); free(E->pentry[d]); free(E->heap[d].a);
    }
    free(E->pseen); free(E->pot); free(E->w);
}

static void Engine_dealloc(Engine *E) {
    engine_free(E);
    Py_TYPE(E)->tp_free((PyObject *)E);
}

static int Engine_init(Engine *E, PyObject *args, PyObject *kw) {
    static char *names[] = {"indptr", "indices", "edge_of_entry", "length", "landmarks", "n_landmarks", NULL};
    PyObject *o_ptr, *o_ind, *o_edge, *o_len, *o_lm;
    int k;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOOOOi", names, &o_ptr, &o_ind, &o_edge, &o_len, &o_lm, &k))
        return -1;
    engine_free(E);
    memset(&E->n, 0, sizeof(Engine) - offsetof(Engine, n));
    Py_ssize_t np1, nnz, nnz2, m, nlm;
    if (!(E->indptr = copy_i32(o_ptr, "indptr", &np1))) return -1;
    if (!(E->indices = copy_i32(o_ind, "indices", &nnz))) return -1;
    if (!(E->edge = copy_i32(o_edge, "edge_of_entry", &nnz2))) return -1;
    if (!(E->length = copy_f64(o_len, "length", &m))) return -1;
    Py_buffer v;
    if (get_buf(o_lm, &v, 'd', "landmarks") < 0) return -1;
    nlm = buf_len(&v);
    Py_ssize_t n = np1 - 1;
    if (n < 0 || nnz != nnz2 || E->indptr[n] != nnz || k < 0 || (Py_ssize_t)k * n != nlm) {
        PyBuffer_Release(&v);
        PyErr_SetString(PyExc_ValueError, "inconsistent graph arrays");
        return -1;
    }
    E->n = (int32_t)n;
    E->m = (int32_t)m;
    E->k = k;
    E->lm = (double *)malloc(sizeof(double) * (nlm ? nlm : 1));
    if (!E->lm) { PyBuffer_Release(&v); PyErr_NoMemory(); return -1; }
    const double *src = (const double *)v.buf;
    for (int j = 0; j < k; j++)
        for (Py_ssize_t i = 0; i < n; i++) E->lm[i * k + j] = src[(Py_ssize_t)j * n + i];
    PyBuffer_Release(&v);
    for (Py_ssize_t e = 0; e < nnz; e++) {
        if (E->indices[e] < 0 || E->indices[e] >= n || E->edge[e] < 0 || E->edge[e] >= m) {
            PyErr_SetString(PyExc_ValueError, "graph entry out of range");
            return -1;
        }
    }
    size_t nn = (size_t)(n ? n : 1);
    for (int d = 0; d < 2; d++) {
        E->seen[d] = (uint32_t *)calloc(nn, sizeof(uint32_t));
        E->done[d] = (uint32_t *)calloc(nn, sizeof(uint32_t));
        E->g[d] = (double *)malloc(nn * sizeof(double));
        E->pred[d] = (int32_t *)malloc(nn * sizeof(int32_t));
        E->pentry[d] = (int32_t *)malloc(nn * sizeof(int32_t));
        if (!E->seen[d] || !E->done[d] || !E->g[d] || !E->pred[d] || !E->pentry[d]) { PyErr_NoMemory(); return -1; }
    }
    E->pseen = (uint32_t *)calloc(nn, sizeof(uint32_t));
    E->pot = (double *)malloc(nn * sizeof(double));
    E->w = (double *)malloc(sizeof(double) * (m ? m : 1));
    if (!E->pseen || !E->pot || !E->w) { PyErr_NoMemory(); return -1; }
    return 0;
}

/* the landmark bound of the (floored) length between two nodes, times SHRINK */
static inline double lm_bound(const Engine *E, int32_t a, const double *lb) {
    const double *la = E->lm + (Py_ssize_t)a * E->k;
    double best = 0.0;
    for (int j = 0; j < E->k; j++) {
        double d = fabs(la[j] - lb[j]);
        if (d > best) best = d;
    }
    return best * SHRINK;
}

typedef struct {
    int32_t s, t;
    int use_pot;
    const double *ls, *lt; /* landmark rows of s and t */
} query_t;

/* p(v) = (h_t(v) - h_s(v)) / 2, cached for the whole sweep (it depends on s and t only) */
static inline double potential(Engine *E, const query_t *q, int32_t v) {
    if (!q->use_pot) return 0.0;
    if (E->pseen[v] == E->pstamp) return E->pot[v];
    double p = 0.5 * (lm_bound(E, v, q->lt) - lm_bound(E, v, q->ls));
    if (!isfinite(p)) p = 0.0; /* another component: never reached */
    E->pseen[v] = E->pstamp;
    E->pot[v] = p;
    return p;
}

/* a weighting: per-edge weights given (w), or the route planner's, computed on demand for the edges a search
 * touches: length * (1 + c * density / p95), density = risk / max(length, 1) (numpy's operations, in its order) */
typedef struct { const double *w, *length, *density; double c, p95; } wsrc_t;

static inline double weight_of(const wsrc_t *ws, int32_t e) {
    double x = ws->w ? ws->w[e] : ws->length[e] * (1.0 + ws->c * ws->density[e] / ws->p95);
    return x > MIN_WEIGHT ? x : MIN_WEIGHT;
}

/* A path found: nodes and the CSR entries between them. */
typedef struct { int32_t *nodes, *entries; Py_ssize_t len; } path_t; /* len nodes, len - 1 entries */

static void path_free(path_t *p) { free(p->nodes); free(p->entries); p->nodes = p->entries = NULL; p->len = 0; }

static double path_cost(const Engine *E, const path_t *p, const wsrc_t *w) {
    double c = 0.0;
    for (Py_ssize_t i = 0; i + 1 < p->len; i++) c += weight_of(w, E->edge[p->entries[i]]);
    return c;
}

/* One exact s-t search on per-edge weights w (>= the floored lengths).  mu0/init: an upper bound and its path
 * (or INFINITY and NULL).  On success *out is the path (a copy of init when nothing cheaper exists); len 0 when t
 * is unreachable.  Returns -1 on memory errors. */
static int search(Engine *E, const query_t *q, const wsrc_t *w, double mu0, const path_t *init, path_t *out,
                  double *cost_out) {
    int32_t s = q->s, t = q->t;
    out->nodes = out->entries = NULL;
    out->len = 0;
    if (s == t) {
        out->nodes = (int32_t *)malloc(sizeof(int32_t));
        out->entries = (int32_t *)malloc(sizeof(int32_t));
        if (!out->nodes || !out->entries) return -1;
        out->nodes[0] = s;
        out->len = 1;
        *cost_out = 0.0;
        return 0;
    }
    uint32_t st = ++E->stamp;
    if (st == 0) { /* wrapped: clear */
        for (int d = 0; d < 2; d++) {
            memset(E->seen[d], 0, sizeof(uint32_t) * E->n);
            memset(E->done[d], 0, sizeof(uint32_t) * E->n);
        }
        st = E->stamp = 1;
    }
    double ps = potential(E, q, s), pt = potential(E, q, t);
    double c0 = pt - ps; /* reduced length of every s-t path = its length + c0 */
    double mu = mu0;
    int32_t meet = -1;
    int32_t root[2] = {s, t};
    double proot[2] = {ps, -pt};
    for (int d = 0; d < 2; d++) {
        E->heap[d].n = 0;
        E->seen[d][root[d]] = st;
        E->g[d][root[d]] = 0.0;
        E->pred[d][root[d]] = -1;
        if (heap_push(&E->heap[d], 0.0, root[d]) < 0) return -1;
    }
    for (;;) {
        heap_t *hf = &E->heap[0], *hb = &E->heap[1];
        if (hf->n == 0 || hb->n == 0) break;
        double kf = hf->a[0].key, kb = hb->a[0].key;
        if (kf + kb >= mu + c0) break;
        int d = kf <= kb ? 0 : 1;
        double sign = d == 0 ? 1.0 : -1.0; /* forward key: g + p(v) - p(s); backward: g - p(v) + p(t) */
        item_t it = heap_pop(&E->heap[d]);
        int32_t u = it.node;
        if (E->done[d][u] == st) continue;
        E->done[d][u] = st;
        double gu = E->g[d][u];
        int o = 1 - d;
        for (int32_t e = E->indptr[u]; e < E->indptr[u + 1]; e++) {
            int32_t v = E->indices[e];
            if (E->done[d][v] == st) continue;
            double gv = gu + weight_of(w, E->edge[e]);
            if (E->seen[d][v] == st && gv >= E->g[d][v]) continue;
            double key = gv + sign * potential(E, q, v) - proot[d];
            if (key >= mu + c0) continue; /* every path through v is at least this long (reduced) */
            E->seen[d][v] = st;
            E->g[d][v] = gv;
            E->pred[d][v] = u;
            E->pentry[d][v] = e;
            if (heap_push(&E->heap[d], key, v) < 0) return -1;
            if (E->seen[o][v] == st) {
                double through = gv + E->g[o][v];
                if (through < mu) {
                    mu = through;
                    meet = v;
                }
            }
        }
    }
    if (meet < 0) {
        if (init == NULL || init->len == 0) {
            *cost_out = INFINITY;
            return 0;
        }
        out->nodes = (int32_t *)malloc(sizeof(int32_t) * init->len);
        out->entries = (int32_t *)malloc(sizeof(int32_t) * (init->len > 1 ? init->len - 1 : 1));
        if (!out->nodes || !out->entries) return -1;
        memcpy(out->nodes, init->nodes, sizeof(int32_t) * init->len);
        if (init->len > 1) memcpy(out->entries, init->entries, sizeof(int32_t) * (init->len - 1));
        out->len = init->len;
        *cost_out = mu0;
        return 0;
    }
    /* s ... meet (forward tree), meet ... t (backward tree) */
    Py_ssize_t nf = 0, nb = 0;
    for (int32_t x = meet; x != s; x = E->pred[0][x]) nf++;
    for (int32_t x = meet; x != t; x = E->pred[1][x]) nb++;
    Py_ssize_t len = nf + nb + 1;
    out->nodes = (int32_t *)malloc(sizeof(int32_t) * len);
    out->entries = (int32_t *)malloc(sizeof(int32_t) * (len > 1 ? len - 1 : 1));
    if (!out->nodes || !out->entries) return -1;
    Py_ssize_t i = nf;
    out->nodes[i] = meet;
    for (int32_t x = meet; x != s; x = E->pred[0][x]) {
        out->entries[i - 1] = E->pentry[0][x]; /* entry pred -> x */
        out->nodes[--i] = E->pred[0][x];
    }
    i = nf;
    for (int32_t x = meet; x != t; x = E->pred[1][x]) {
        out->entries[i] = E->pentry[1][x]; /* entry x' -> x in the backward search: the same undirected edge */
        out->nodes[++i] = E->pred[1][x];
    }
    out->len = len;
    *cost_out = E->g[0][meet] + E->g[1][meet];
    return 0;
}

static PyObject *path_tuple(const Engine *E, const path_t *p, double cost) {
    PyObject *nodes = PyList_New(p->len), *edges = PyList_New(p->len > 0 ? p->len - 1 : 0);
    if (!nodes || !edges) { Py_XDECREF(nodes); Py_XDECREF(edges); return NULL; }
    for (Py_ssize_t i = 0; i < p->len; i++) PyList_SET_ITEM(nodes, i, PyLong_FromLong(p->nodes[i]));
    for (Py_ssize_t i = 0; i + 1 < p->len; i++) PyList_SET_ITEM(edges, i, PyLong_FromLong(E->edge[p->entries[i]]));
    return Py_BuildValue("(NdN)", nodes, cost, edges);
}

static int same_path(const path_t *a, const path_t *b) {
    return a->len == b->len && memcmp(a->nodes, b->nodes, sizeof(int32_t) * a->len) == 0;
}

/* the sweep: weighting i given by weights(i, &out) (0 on success) */
typedef int (*weights_fn)(Engine *E, void *ctx, Py_ssize_t i, wsrc_t *out);

static PyObject *run_sweep(Engine *E, int32_t s, int32_t t, Py_ssize_t count, weights_fn weights, void *ctx) {
    if (s < 0 || t < 0 || s >= E->n || t >= E->n) {
        PyErr_SetString(PyExc_IndexError, "node out of range");
        return NULL;
    }
    query_t q = {s, t, 0, NULL, NULL};
    if (E->k > 0) {
        q.ls = E->lm + (Py_ssize_t)s * E->k;
        q.lt = E->lm + (Py_ssize_t)t * E->k;
        q.use_pot = 1;
        for (int j = 0; j < E->k; j++)
            if (!isfinite(q.ls[j]) || !isfinite(q.lt[j])) q.use_pot = 0;
    }
    if (++E->pstamp == 0) {
        memset(E->pseen, 0, sizeof(uint32_t) * E->n);
        E->pstamp = 1;
    }
    PyObject *result = PyList_New(count);
    path_t *paths = (path_t *)calloc(count ? count : 1, sizeof(path_t)); /* distinct paths found so far */
    Py_ssize_t n_paths = 0;
    if (!result || !paths) { Py_XDECREF(result); free(paths); return PyErr_NoMemory(); }
    int failed = 0;
    for (Py_ssize_t i = 0; i < count && !failed; i++) {
        wsrc_t ws = {NULL, NULL, NULL, 0.0, 1.0};
        if (weights(E, ctx, i, &ws) < 0) { failed = 1; break; }
        const wsrc_t *w = &ws;
        double mu0 = INFINITY;
        const path_t *init = NULL;
        for (Py_ssize_t j = 0; j < n_paths; j++) {
            double c = path_cost(E, &paths[j], w) * (1 + 1e-12);
            if (c < mu0) { mu0 = c; init = &paths[j]; }
        }
        path_t found;
        double cost;
        /* the GIL stays held: the engine's workspace is shared by every call on it */
        int rc = search(E, &q, w, mu0, init, &found, &cost);
        if (rc < 0) { path_free(&found); PyErr_NoMemory(); failed = 1; break; }
        if (found.len && init != NULL && same_path(&found, init)) cost = path_cost(E, init, w);
        PyObject *tup = path_tuple(E, &found, cost);
        if (!tup) { path_free(&found); failed = 1; break; }
        PyList_SET_ITEM(result, i, tup);
        int known = found.len == 0;
        for (Py_ssize_t j = 0; j < n_paths && !known; j++) known = same_path(&found, &paths[j]);
        if (!known) paths[n_paths++] = found;
        else path_free(&found);
    }
    for (Py_ssize_t j = 0; j < n_paths; j++) path_free(&paths[j]);
    free(paths);
    if (failed) { Py_DECREF(result); return NULL; }
    return result;
}

typedef struct { Py_buffer *views; } bufs_ctx;

static int weights_from_buffers(Engine *E, void *ctx, Py_ssize_t i, wsrc_t *out) {
    out->w = (const double *)((bufs_ctx *)ctx)->views[i].buf;
    return 0;
}

static PyObject *Engine_sweep(Engine *E, PyObject *args) {
    int s, t;
    PyObject *seq;
    if (!PyArg_ParseTuple(args, "iiO", &s, &t, &seq)) return NULL;
    PyObject *fast = PySequence_Fast(seq, "weights: a sequence of per-edge float64 arrays");
    if (!fast) return NULL;
    Py_ssize_t count = PySequence_Fast_GET_SIZE(fast);
    Py_buffer *views = (Py_buffer *)calloc(count ? count : 1, sizeof(Py_buffer));
    Py_ssize_t got = 0;
    PyObject *result = NULL;
    if (!views) { PyErr_NoMemory(); goto done; }
    for (; got < count; got++) {
        if (get_buf(PySequence_Fast_GET_ITEM(fast, got), &views[got], 'd', "weights") < 0) goto done;
        if (buf_len(&views[got]) != E->m) {
            PyErr_Format(PyExc_ValueError, "weights has %zd values, graph has %d edges", buf_len(&views[got]), E->m);
            got++;
            goto done;
        }
    }
    bufs_ctx ctx = {views};
    result = run_sweep(E, s, t, count, weights_from_buffers, &ctx);
done:
    for (Py_ssize_t i = 0; i < got; i++) PyBuffer_Release(&views[i]);
    free(views);
    Py_DECREF(fast);
    return result;
}

/* the route planner's weighting, computed per edge exactly as numpy does it:
 * density = risk / max(length, 1); w = length * (1 + c * density / p95) */
typedef struct { double p95; const double *cs; } risk_ctx;

static int weights_from_risk(Engine *E, void *ctx, Py_ssize_t i, wsrc_t *out) {
    risk_ctx *r = (risk_ctx *)ctx;
    out->w = NULL;
    out->length = E->length;
    out->density = E->w; /* filled once per call (Engine_sweep_risk) */
    out->c = r->cs[i];
    out->p95 = r->p95;
    return 0;
}

static PyObject *Engine_sweep_risk(Engine *E, PyObject *args) {
    int s, t;
    PyObject *o_risk, *o_cs;
    double p95;
    if (!PyArg_ParseTuple(args, "iiOdO", &s, &t, &o_risk, &p95, &o_cs)) return NULL;
    Py_buffer rv;
    if (get_buf(o_risk, &rv, 'd', "risk") < 0) return NULL;
    if (buf_len(&rv) != E->m) {
        PyBuffer_Release(&rv);
        PyErr_SetString(PyExc_ValueError, "risk: one value per edge");
        return NULL;
    }
    PyObject *fast = PySequence_Fast(o_cs, "cs: a sequence of floats");
    if (!fast) { PyBuffer_Release(&rv); return NULL; }
    Py_ssize_t count = PySequence_Fast_GET_SIZE(fast);
    double *cs = (double *)malloc(sizeof(double) * (count ? count : 1));
    PyObject *result = NULL;
    if (!cs) { PyErr_NoMemory(); goto done; }
    for (Py_ssize_t i = 0; i < count; i++) {
        cs[i] = PyFloat_AsDouble(PySequence_Fast_GET_ITEM(fast, i));
        if (cs[i] == -1.0 && PyErr_Occurred()) goto done;
    }
    const double *risk = (const double *)rv.buf;
    for (int32_t e = 0; e < E->m; e++) {
        double len = E->length[e];
        E->w[e] = risk[e] / (len > 1.0 ? len : 1.0);
    }
    risk_ctx ctx = {p95, cs};
    result = run_sweep(E, s, t, count, weights_from_risk, &ctx);
done:
    free(cs);
    Py_DECREF(fast);
    PyBuffer_Release(&rv);
    return result;
}

/* (sum of length, sum of values) along edges, each numpy's sum of the gathered values */
static PyObject *Engine_path_sums(Engine *E, PyObject *args) {
    PyObject *o_edges, *o_vals;
    if (!PyArg_ParseTuple(args, "OO", &o_edges, &o_vals)) return NULL;
    Py_buffer vv;
    if (get_buf(o_vals, &vv, 'd', "values") < 0) return NULL;
    PyObject *fast = PySequence_Fast(o_edges, "edges: a sequence of edge indices");
    if (!fast) { PyBuffer_Release(&vv); return NULL; }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast), nv = buf_len(&vv);
    double *a = (double *)malloc(sizeof(double) * (n ? n : 1)), *b = (double *)malloc(sizeof(double) * (n ? n : 1));
    PyObject *result = NULL;
    if (!a || !b) { PyErr_NoMemory(); goto done; }
    for (Py_ssize_t i = 0; i < n; i++) {
        long e = PyLong_AsLong(PySequence_Fast_GET_ITEM(fast, i));
        if (e == -1 && PyErr_Occurred()) goto done;
        if (e < 0 || e >= E->m || e >= nv) { PyErr_SetString(PyExc_IndexError, "edge out of range"); goto done; }
        a[i] = E->length[e];
        b[i] = ((const double *)vv.buf)[e];
    }
    result = Py_BuildValue("(dd)", np_sum(a, n), np_sum(b, n));
done:
    free(a);
    free(b);
    Py_DECREF(fast);
    PyBuffer_Release(&vv);
    return result;
}

static PyMethodDef Engine_methods[] = {
    {"sweep", (PyCFunction)Engine_sweep, METH_VARARGS,
     "sweep(src, dst, weights) -> [(nodes, cost, edges), ...]: the exact shortest path for each per-edge weighting "
     "(each >= the lengths the landmarks were measured on)."},
    {"sweep_risk", (PyCFunction)Engine_sweep_risk, METH_VARARGS,
     "sweep_risk(src, dst, risk, p95, cs) -> [(nodes, cost, edges), ...]: the route planner's sweep, weights "
     "length * (1 + c * (risk / max(length, 1)) / p95) for each c."},
    {"path_sums", (PyCFunction)Engine_path_sums, METH_VARARGS,
     "path_sums(edges, values) -> (sum of lengths, sum of values) along edges, as numpy sums them."},
    {NULL, NULL, 0, NULL}};

static PyTypeObject EngineType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "civicmash.analysis._fastroute.Engine",
    .tp_basicsize = sizeof(Engine),
    .tp_dealloc = (destructor)Engine_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Engine(indptr, indices, edge_of_entry, length, landmarks, n_landmarks): a walk graph's searches.",
    .tp_methods = Engine_methods,
    .tp_init = (initproc)Engine_init,
    .tp_new = PyType_GenericNew,
};

/* ---- module functions ---------------------------------------------------------------------------------- */

/* nearest(x, y, labels, label, qx, qy) -> (node, distance, second distance): the node nearest to (qx, qy) among
 * those whose label equals `label`, by a scan, with the distance of the second nearest (a tie check) */
static PyObject *nearest(PyObject *self, PyObject *args) {
    PyObject *ox, *oy, *ol;
    long long label;
    double qx, qy;
    if (!PyArg_ParseTuple(args, "OOOLdd", &ox, &oy, &ol, &label, &qx, &qy)) return NULL;
    Py_buffer vx, vy, vl;
    if (get_buf(ox, &vx, 'd', "x") < 0) return NULL;
    if (get_buf(oy, &vy, 'd', "y") < 0) { PyBuffer_Release(&vx); return NULL; }
    if (get_buf(ol, &vl, 'i', "labels") < 0) { PyBuffer_Release(&vx); PyBuffer_Release(&vy); return NULL; }
    Py_ssize_t n = buf_len(&vx);
    PyObject *result = NULL;
    if (buf_len(&vy) != n || buf_len(&vl) != n) {
        PyErr_SetString(PyExc_ValueError, "x, y and labels differ in length");
        goto done;
    }
    const double *x = (const double *)vx.buf, *y = (const double *)vy.buf;
    Py_ssize_t best = -1;
    double d1 = INFINITY, d2 = INFINITY;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (buf_int(&vl, i) != label) continue;
        double dx = x[i] - qx, dy = y[i] - qy;
        double d = sqrt(dx * dx + dy * dy);
        if (d < d1) { d2 = d1; d1 = d; best = i; }
        else if (d < d2) d2 = d;
    }
    result = Py_BuildValue("(ndd)", best, d1, d2);
done:
    PyBuffer_Release(&vx);
    PyBuffer_Release(&vy);
    PyBuffer_Release(&vl);
    return result;
}

static PyObject *np_sum_py(PyObject *self, PyObject *arg) {
    Py_buffer v;
    if (get_buf(arg, &v, 'd', "values") < 0) return NULL;
    double s = np_sum((const double *)v.buf, buf_len(&v));
    PyBuffer_Release(&v);
    return PyFloat_FromDouble(s);
}

static PyMethodDef module_methods[] = {
    {"nearest", nearest, METH_VARARGS,
     "nearest(x, y, labels, label, qx, qy) -> (node, distance, second distance) among nodes with that label."},
    {"np_sum", np_sum_py, METH_O, "numpy's sum of a float64 buffer (pairwise summation), bit for bit."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_fastroute",
                                    "The compiled engine of the safe route's searches (see the C source).", -1,
                                    module_methods};

PyMODINIT_FUNC PyInit__fastroute(void) {
    if (PyType_Ready(&EngineType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    Py_INCREF(&EngineType);
    if (PyModule_AddObject(m, "Engine", (PyObject *)&EngineType) < 0) {
        Py_DECREF(&EngineType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
