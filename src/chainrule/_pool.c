/* chainrule._pool: array passes (strided copies, add/subtract/multiply, relu, keep_where) run
 * on OpenBLAS's own threads.
 *
 * Why: NumPy runs a copy or an addition on one core. Splitting it over threads of our own
 * loses on a 2-core machine, because after every matrix product OpenBLAS's idle workers spin
 * on the other core for a while, and two pools fight over it. OpenBLAS's thread server takes
 * any routine (blas_level1_thread: m rows split over its threads, the caller's thread taking
 * the first share), so these passes are handed to the very threads that are spinning.
 *
 * The module takes arrays through the buffer protocol (see chainrule/backend_pool.py): no
 * NumPy C API, no Python in the passes (the GIL is released), and the results are NumPy's
 * bit for bit (a copy is a copy; arithmetic is one IEEE operation per element in the
 * arrays' precision, compiled without contraction; relu and keep_where select).
 * It is optional: where it is not built, or OpenBLAS is not found, NumPy does the work.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <fenv.h>
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

#define MAX_DIMS 16

typedef int (*level1_thread_fn)(int mode, long m, long n, long k, void *alpha, void *a,
                                long lda, void *b, long ldb, void *c, long ldc,
                                void *routine, int threads);

static level1_thread_fn level1_thread = NULL;
static int level1_mode = 0;        /* a real precision OpenBLAS runs legacy routines for */
static int level1_shift = 0;       /* row r's share starts at a = (char *)0 + (r << shift) */

enum { OP_COPY = 0, OP_ADD, OP_SUBTRACT, OP_MULTIPLY, OP_RELU, OP_KEEP_WHERE };
enum { KIND_OTHER = 0, KIND_F32 = 1, KIND_F64 = 2 };

typedef struct {
    int op, kind, ndim;            /* ndim >= 1; the last dimension is the inner run */
    long itemsize;
    long shape[MAX_DIMS];
    long out_strides[MAX_DIMS], a_strides[MAX_DIMS], b_strides[MAX_DIMS];   /* bytes */
    char *out;
    const char *a, *b;
    long blocks;                   /* each inner run is cut into this many pieces */
    int raised;                    /* floating-point exceptions the shares raised */
} pass_t;

/* ------------------------------------------------------------------ inner runs */

static void copy_run(char *out, long os, const char *a, long as, long n, long itemsize)
{
    if (os == itemsize && as == itemsize) {
        memcpy(out, a, (size_t)(n * itemsize));
    } else if (itemsize == 4) {
        for (long i = 0; i < n; i++)
            *(uint32_t *)(out + i * os) = *(const uint32_t *)(a + i * as);
    } else if (itemsize == 8) {
        for (long i = 0; i < n; i++)
            *(uint64_t *)(out + i * os) = *(const uint64_t *)(a + i * as);
    } else {
        for (long i = 0; i < n; i++)
            memcpy(out + i * os, a + i * as, (size_t)itemsize);
    }
}

/* One loop over n contiguous elements, o[i] = EXPRESSION, then return. */
#define CONTIGUOUS(EXPRESSION) \
    do { for (long i = 0; i < n; i++) o[i] = (EXPRESSION); return; } while (0)

/* keep_where on one element: a's bits where the mask byte is set, else +0.0's (no branch). */
#define KEPT(BITS, value, mask) ((value) & ((BITS)0 - (BITS)((mask) != 0)))

/* One inner run of an elementwise op in type T: out = a op b (b a scalar when its stride is
 * 0), relu(a) (0 where a < 0, else a: nan and -0.0 kept), or a where the bool b holds and
 * +0.0 elsewhere. One IEEE operation per element, as NumPy's; the contiguous cases get
 * loops of their own, which the compiler vectorises. */
#define ELEMENTWISE_RUN(NAME, T, BITS)                                                     \
    static void NAME(int op, char *out, long os, const char *a, long as, const char *b,    \
                     long bs, long n)                                                      \
    {                                                                                      \
        T *o = (T *)out;                                                                   \
        const T *x = (const T *)a, *y = (const T *)b;                                      \
        int unit = os == sizeof(T) && as == sizeof(T);                                     \
        if (unit && op == OP_RELU)                                                         \
            CONTIGUOUS(x[i] < (T)0 ? (T)0 : x[i]);                                         \
        if (unit && op == OP_KEEP_WHERE && bs == 1) {                                      \
            const unsigned char *m = (const unsigned char *)b;                             \
            const BITS *from = (const BITS *)a;                                            \
            BITS *to = (BITS *)out;                                                        \
            for (long i = 0; i < n; i++)                                                   \
                to[i] = KEPT(BITS, from[i], m[i]);                                         \
            return;                                                                        \
        }                                                                                  \
        if (unit && bs == 0 && op != OP_KEEP_WHERE) {                                      \
            T v = *y;                                                                      \
            if (op == OP_ADD) CONTIGUOUS(x[i] + v);                                        \
            if (op == OP_SUBTRACT) CONTIGUOUS(x[i] - v);                                   \
            if (op == OP_MULTIPLY) CONTIGUOUS(x[i] * v);                                   \
        }                                                                                  \
        if (unit && bs == sizeof(T)) {                                                     \
            if (op == OP_ADD) CONTIGUOUS(x[i] + y[i]);                                     \
            if (op == OP_SUBTRACT) CONTIGUOUS(x[i] - y[i]);                                \
            if (op == OP_MULTIPLY) CONTIGUOUS(x[i] * y[i]);                                \
        }                                                                                  \
        for (long i = 0; i < n; i++) {                   /* any strides */                 \
            T u = *(const T *)(a + i * as), *target = (T *)(out + i * os);                 \
            if (op == OP_RELU) {                                                           \
                *target = u < (T)0 ? (T)0 : u;                                             \
            } else if (op == OP_KEEP_WHERE) {                                              \
                *(BITS *)target = KEPT(BITS, *(const BITS *)(a + i * as),                  \
                                       *(const unsigned char *)(b + i * bs));              \
            } else {                                                                       \
                T w = *(const T *)(b + i * bs);                                            \
                *target = op == OP_ADD ? u + w : op == OP_SUBTRACT ? u - w : u * w;        \
            }                                                                              \
        }                                                                                  \
    }
ELEMENTWISE_RUN(elementwise_run_f32, float, uint32_t)
ELEMENTWISE_RUN(elementwise_run_f64, double, uint64_t)

/* ------------------------------------------------------------------ rows of a pass */

/* Rows [start, end) of the pass: row r is piece r % blocks of the inner run at outer
 * index r / blocks (outer indices run over every dimension but the last, C order). The
 * outer index is taken apart once; then it steps like an odometer, last axis fastest. */
static void run_rows(const pass_t *p, long start, long end)
{
    int outer = p->ndim - 1;
    long inner = p->shape[outer], piece = (inner + p->blocks - 1) / p->blocks;
    long os = p->out_strides[outer], as = p->a_strides[outer], bs = p->b_strides[outer];
    long at[MAX_DIMS], index = start / p->blocks, block = start % p->blocks;
    char *out = p->out;
    const char *a = p->a, *b = p->b;
    for (int d = outer - 1; d >= 0; d--) {
        at[d] = index % p->shape[d];
        index /= p->shape[d];
        out += at[d] * p->out_strides[d];
        a += at[d] * p->a_strides[d];
        b += at[d] * p->b_strides[d];         /* (b_strides are 0 without b) */
    }
    for (long r = start; r < end; r++) {
        long first = block * piece;
        long n = inner - first < piece ? inner - first : piece;
        if (n > 0) {
            if (p->op == OP_COPY)
                copy_run(out + first * os, os, a + first * as, as, n, p->itemsize);
            else if (p->kind == KIND_F32)
                elementwise_run_f32(p->op, out + first * os, os, a + first * as, as,
                                    b + first * bs, bs, n);
            else
                elementwise_run_f64(p->op, out + first * os, os, a + first * as, as,
                                    b + first * bs, bs, n);
        }
        if (++block < p->blocks)
            continue;
        block = 0;
        for (int d = outer - 1; d >= 0; d--) {   /* the next outer index */
            out += p->out_strides[d], a += p->a_strides[d], b += p->b_strides[d];
            if (++at[d] < p->shape[d])
                break;
            out -= at[d] * p->out_strides[d], a -= at[d] * p->a_strides[d];
            b -= at[d] * p->b_strides[d];
            at[d] = 0;
        }
    }
}

/* Rows [start, end) on this thread, noting the floating-point exceptions the arithmetic
 * raised (each thread has its own flags; NumPy clears them before its loops too). */
static void run_share(pass_t *p, long start, long end)
{
    int arithmetic = p->op == OP_ADD || p->op == OP_SUBTRACT || p->op == OP_MULTIPLY;
    if (arithmetic)
        feclearexcept(FE_ALL_EXCEPT);
    run_rows(p, start, end);
    if (arithmetic) {
        int raised = fetestexcept(FE_DIVBYZERO | FE_OVERFLOW | FE_UNDERFLOW | FE_INVALID);
        if (raised)
            __atomic_fetch_or(&p->raised, raised, __ATOMIC_RELAXED);
    }
}

/* The routine OpenBLAS's threads call (its "legacy" signature for single precision): m rows
 * from the start encoded in a. alpha is not used. */
static int rows_routine(long m, long n, long k, float alpha, void *a, long lda, void *b,
                        long ldb, void *c, long ldc, void *scratch)
{
    long start = (long)((intptr_t)a >> level1_shift);
    run_share((pass_t *)c, start, start + m);
    return 0;
}

static void run_pass(pass_t *p, long rows, int threads)
{
    if (threads > 1 && level1_thread != NULL && rows > 1) {
        float one = 1.0f;
        level1_thread(level1_mode, rows, 0, 0, &one, NULL, 1, NULL, 0, p, 0,
                      (void *)rows_routine, threads < rows ? threads : (int)rows);
    } else {
        run_share(p, 0, rows);
    }
}

/* Whether this thread computes as OpenBLAS's workers do by default: round to nearest, no
 * flush of subnormals (torch.set_flush_denormal changes the caller's register only, and
 * the workers would then compute differently from the caller's share). */
static int default_float_environment(void)
{
#if defined(__x86_64__) || defined(__i386__)
    return (_mm_getcsr() & 0xE040) == 0;        /* flush-to-zero, denormals-are-zero, rounding */
#elif defined(__aarch64__)
    uint64_t fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    return (fpcr & ((1u << 24) | (3u << 22))) == 0;   /* flush-to-zero, rounding mode */
#else
    return 0;                                   /* unknown: NumPy's pass */
#endif
}

/* ------------------------------------------------------------------ shapes */

/* Drop dimensions of size 1 and merge neighbours that every operand walks as one. */
static void coalesce(pass_t *p)
{
    int kept = 0;
    for (int d = 0; d < p->ndim; d++) {
        if (p->shape[d] == 1)
            continue;
        if (kept > 0) {
            int last = kept - 1;
            long n = p->shape[d];
            if (p->out_strides[last] == p->out_strides[d] * n &&
                p->a_strides[last] == p->a_strides[d] * n &&
                (p->b == NULL || p->b_strides[last] == p->b_strides[d] * n)) {
                p->shape[last] *= n;
                p->out_strides[last] = p->out_strides[d];
                p->a_strides[last] = p->a_strides[d];
                p->b_strides[last] = p->b_strides[d];
                continue;
            }
        }
        p->shape[kept] = p->shape[d];
        p->out_strides[kept] = p->out_strides[d];
        p->a_strides[kept] = p->a_strides[d];
        p->b_strides[kept] = p->b_strides[d];
        kept++;
    }
    if (kept == 0) {                                  /* one element */
        p->shape[0] = 1;
        kept = 1;
    }
    p->ndim = kept;
}

/* Set up and run a pass; returns the floating-point exceptions it raised (fenv bits). */
static long start_pass(int op, int kind, int ndim, const long *shape, long itemsize,
                       char *out, const long *out_strides, const char *a,
                       const long *a_strides, const char *b, const long *b_strides,
                       int threads)
{
    pass_t p;
    if (ndim > MAX_DIMS || ndim < 0)
        return -1;
    memset(&p, 0, sizeof p);
    p.op = op, p.kind = kind, p.ndim = ndim, p.itemsize = itemsize;
    p.out = out, p.a = a, p.b = b;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] == 0)
            return 0;
        p.shape[d] = shape[d];
        p.out_strides[d] = out_strides[d];
        p.a_strides[d] = a_strides[d];
        p.b_strides[d] = b ? b_strides[d] : 0;
    }
    coalesce(&p);
    long outer_rows = 1;
    for (int d = 0; d < p.ndim - 1; d++)
        outer_rows *= p.shape[d];
    /* enough rows for an even split: cut long inner runs when there are few of them */
    long inner = p.shape[p.ndim - 1], want = 8L * (threads > 1 ? threads : 1);
    p.blocks = 1;
    if (outer_rows < want) {
        long blocks = (want + outer_rows - 1) / outer_rows;
        long most = inner / 256 > 1 ? inner / 256 : 1;     /* pieces of at least 256 */
        p.blocks = blocks < most ? blocks : most;
    }
    long rows = outer_rows * p.blocks;
    run_pass(&p, rows, threads);
    return p.raised;
}

/* ------------------------------------------------------------------ the module */

typedef int (*thread_count_fn)(void);
static thread_count_fn blas_threads = NULL;
static char pass_running = 0;           /* set while a pass is with OpenBLAS */

/* For the calibration in backend_pool.py: the start OpenBLAS gave its second share. */
static long probe_starts[2];
static int probe_routine(long m, long n, long k, double alpha, void *a, long lda, void *b,
                         long ldb, void *c, long ldc, void *scratch)
{
    long at = (long)(intptr_t)a;
    probe_starts[at ? 1 : 0] = at;
    return 0;
}

static PyObject *pool_probe(PyObject *self, PyObject *args)
{
    unsigned long long level1;
    int mode;
    double one = 1.0;
    if (!PyArg_ParseTuple(args, "Ki", &level1, &mode))
        return NULL;
    probe_starts[0] = probe_starts[1] = -1;
    Py_BEGIN_ALLOW_THREADS
    ((level1_thread_fn)(uintptr_t)level1)(mode, 2, 0, 0, &one, NULL, 1, NULL, 0, NULL, 0,
                                          (void *)probe_routine, 2);
    Py_END_ALLOW_THREADS
    return PyLong_FromLong(probe_starts[1]);
}

static PyObject *pool_init(PyObject *self, PyObject *args)
{
    unsigned long long level1, threads;
    int mode, shift;
    if (!PyArg_ParseTuple(args, "KiiK", &level1, &mode, &shift, &threads))
        return NULL;
    level1_mode = mode, level1_shift = shift;
    level1_thread = (level1_thread_fn)(uintptr_t)level1;
    __atomic_store_n(&blas_threads, (thread_count_fn)(uintptr_t)threads, __ATOMIC_RELEASE);
    Py_RETURN_NONE;                     /* (passes start once blas_threads is set) */
}

/* The bytes [low, high) an operand's elements occupy. */
static void extent(const Py_buffer *v, char **low, char **high)
{
    char *lo = v->buf, *hi = v->buf;
    for (int d = 0; d < v->ndim; d++) {
        long span = (long)(v->shape[d] - 1) * (long)v->strides[d];
        if (span < 0)
            lo += span;
        else
            hi += span;
    }
    *low = lo, *high = hi + v->itemsize;
}

/* Whether operand v may run beside out: apart from it, or exactly it (an in-place add). */
static int apart(const Py_buffer *out, const Py_buffer *v)
{
    char *a0, *a1, *b0, *b1;
    if (v->buf == out->buf) {
        for (int d = 0; d < out->ndim; d++)
            if (v->strides[d] != out->strides[d])
                return 0;
        return 1;
    }
    extent(out, &a0, &a1);
    extent(v, &b0, &b1);
    return a1 <= b0 || b1 <= a0;
}

static int same_shape(const Py_buffer *a, const Py_buffer *b)
{
    if (a->ndim != b->ndim)
        return 0;
    for (int d = 0; d < a->ndim; d++)
        if (a->shape[d] != b->shape[d])
            return 0;
    return 1;
}

static int same_type(const Py_buffer *a, const Py_buffer *b)
{
    return a->itemsize == b->itemsize && strcmp(a->format, b->format) == 0;
}

/* KIND_F32, KIND_F64 or KIND_OTHER for a buffer's format. */
static int float_kind(const Py_buffer *v)
{
    const char *f = v->format;
    if (f[0] == '<' || f[0] == '=' || f[0] == '@')
        f++;
    return strcmp(f, "f") == 0 ? KIND_F32 : strcmp(f, "d") == 0 ? KIND_F64 : KIND_OTHER;
}

/* Whether every element of v has memory of its own (no two index tuples at one address):
 * with the dimensions sorted by stride, each stride must step past everything the
 * smaller ones reach. */
static int elements_apart(const Py_buffer *v)
{
    long strides[MAX_DIMS], extents[MAX_DIMS];
    int n = 0;
    for (int d = 0; d < v->ndim; d++) {
        if (v->shape[d] == 1)
            continue;
        long s = v->strides[d] < 0 ? -v->strides[d] : v->strides[d], e = v->shape[d] - 1;
        int i = n++;
        for (; i > 0 && strides[i - 1] > s; i--)        /* insertion sort by stride */
            strides[i] = strides[i - 1], extents[i] = extents[i - 1];
        strides[i] = s, extents[i] = e;
    }
    long reach = v->itemsize;                            /* bytes the smaller ones span */
    for (int i = 0; i < n; i++) {
        if (strides[i] < reach)
            return 0;
        reach += extents[i] * strides[i];
    }
    return 1;
}

/* Whether v's elements are aligned for the typed loads and stores of 4- and 8-byte items. */
static int aligned(const Py_buffer *v)
{
    long size = v->itemsize;
    if (size != 4 && size != 8)
        return 1;
    if ((uintptr_t)v->buf % (uintptr_t)size)
        return 0;
    for (int d = 0; d < v->ndim; d++)
        if (v->strides[d] % size)
            return 0;
    return 1;
}

/* Whether the operands suit `op`: the same shape, every output element its own memory, the
 * inputs apart from the output, out's type for the values (no Python objects), a bool mask
 * for keep_where, float32 or float64 for the arithmetic (and this thread's floating-point
 * environment the workers' default), aligned items. Sets *kind. */
static int suits(int op, Py_buffer *views, int count, int *kind)
{
    if (views[0].ndim > MAX_DIMS || !elements_apart(&views[0]))
        return 0;
    for (int i = 0; i < count; i++)
        if (strchr(views[i].format, 'O') != NULL || !aligned(&views[i]))
            return 0;
    for (int i = 1; i < count; i++) {
        if (!same_shape(&views[0], &views[i]) || !apart(&views[0], &views[i]))
            return 0;
        int mask = op == OP_KEEP_WHERE && i == 2;
        if (mask ? strcmp(views[i].format, "?") != 0 || views[i].itemsize != 1
                 : !same_type(&views[0], &views[i]))
            return 0;
    }
    *kind = float_kind(&views[0]);
    if (op == OP_COPY)
        return 1;
    if (*kind == KIND_OTHER)
        return 0;
    return op == OP_KEEP_WHERE || default_float_environment();  /* (keep_where moves bits) */
}

/* A pass of `op` writing out (objects[0]) from the other operands; returns -1 when NumPy
 * should run it instead (then nothing was written), else the floating-point exceptions it
 * raised (1 divide by zero, 2 overflow, 4 underflow, 8 invalid: NumPy's error kinds). */
static PyObject *run_op(int op, PyObject *const *objects, int count)
{
    Py_buffer views[3];
    int got = 0, ok = 1, kind = KIND_OTHER, raised = 0;
    for (; got < count; got++) {
        int flags = PyBUF_STRIDES | PyBUF_FORMAT | (got == 0 ? PyBUF_WRITABLE : 0);
        if (PyObject_GetBuffer(objects[got], &views[got], flags) < 0) {
            PyErr_Clear();
            ok = 0;
            break;
        }
    }
    ok = ok && suits(op, views, count, &kind);
    thread_count_fn thread_count = __atomic_load_n(&blas_threads, __ATOMIC_ACQUIRE);
    int threads = ok && thread_count ? thread_count() : 1;
    /* one pass at a time: a second caller's pass would only wait for the first one's
     * share of OpenBLAS's threads, so it runs NumPy's pass instead */
    if (ok && threads > 1 && !__atomic_test_and_set(&pass_running, __ATOMIC_ACQUIRE)) {
        long shape[MAX_DIMS], os[MAX_DIMS], as[MAX_DIMS], bs[MAX_DIMS];
        for (int d = 0; d < views[0].ndim; d++) {
            shape[d] = views[0].shape[d];
            os[d] = views[0].strides[d];
            as[d] = views[1].strides[d];
            bs[d] = count > 2 ? views[2].strides[d] : 0;
        }
        Py_BEGIN_ALLOW_THREADS
        raised = (int)start_pass(op, kind, views[0].ndim, shape, views[0].itemsize,
                                 views[0].buf, os, views[1].buf, as,
                                 count > 2 ? views[2].buf : NULL, bs, threads);
        Py_END_ALLOW_THREADS
        __atomic_clear(&pass_running, __ATOMIC_RELEASE);
    } else {
        ok = 0;
    }
    for (int i = 0; i < got; i++)
        PyBuffer_Release(&views[i]);
    if (!ok)
        return PyLong_FromLong(-1);
    return PyLong_FromLong((raised & FE_DIVBYZERO ? 1 : 0) | (raised & FE_OVERFLOW ? 2 : 0) |
                           (raised & FE_UNDERFLOW ? 4 : 0) | (raised & FE_INVALID ? 8 : 0));
}

#define POOL_FUNCTION(NAME, OP, COUNT, SIGNATURE)                                         \
    static PyObject *NAME(PyObject *self, PyObject *const *args, Py_ssize_t nargs)        \
    {                                                                                     \
        if (nargs != COUNT) {                                                             \
            PyErr_SetString(PyExc_TypeError, SIGNATURE " takes " #COUNT " arrays");       \
            return NULL;                                                                  \
        }                                                                                 \
        return run_op(OP, args, COUNT);                                                   \
    }
POOL_FUNCTION(pool_copy, OP_COPY, 2, "copy(out, a)")
POOL_FUNCTION(pool_add, OP_ADD, 3, "add(out, a, b)")
POOL_FUNCTION(pool_subtract, OP_SUBTRACT, 3, "subtract(out, a, b)")
POOL_FUNCTION(pool_multiply, OP_MULTIPLY, 3, "multiply(out, a, b)")
POOL_FUNCTION(pool_relu, OP_RELU, 2, "relu(out, a)")
POOL_FUNCTION(pool_keep_where, OP_KEEP_WHERE, 3, "keep_where(out, a, mask)")

#define METHOD(NAME, FUNCTION, DOC) \
    {NAME, (PyCFunction)(void (*)(void))FUNCTION, METH_FASTCALL, DOC}

static PyMethodDef pool_methods[] = {
    {"probe", pool_probe, METH_VARARGS,
     "probe(blas_level1_thread address, mode) -> where OpenBLAS starts a second share"},
    {"init", pool_init, METH_VARARGS,
     "init(blas_level1_thread address, mode, shift, openblas_get_num_threads address)"},
    METHOD("copy", pool_copy,
           "copy(out, a): out[...] = a (same shape and dtype); -1 if declined, else 0"),
    METHOD("add", pool_add,
           "add(out, a, b): out = a + b (float32/float64, one shape); -1 if declined, else the "
           "floating-point exceptions raised (1 divide, 2 over, 4 under, 8 invalid)"),
    METHOD("subtract", pool_subtract, "subtract(out, a, b): out = a - b"),
    METHOD("multiply", pool_multiply, "multiply(out, a, b): out = a * b"),
    METHOD("relu", pool_relu, "relu(out, a): 0 where a < 0, else a (nan and -0.0 kept)"),
    METHOD("keep_where", pool_keep_where, "keep_where(out, a, mask): a where mask, else +0.0"),
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef pool_module = {
    PyModuleDef_HEAD_INIT, "_pool",
    "Array passes on OpenBLAS's threads (see chainrule.backend_pool).", -1, pool_methods,
};

PyMODINIT_FUNC PyInit__pool(void)
{
    return PyModule_Create(&pool_module);
}
