/* The pcap record walk in C: benches.analysis.pcap._records.
 *
 * One function, walk(), does what the inner loop of files._pcap_records
 * does for every complete, well-formed record of a chunk, and stops at the
 * first record that is not complete or whose header is corrupt: the Python
 * loop then handles that one exactly as it always does (reads more, or counts
 * it unreadable). The pure-Python loop is the reference; tests compare the two
 * record for record (tests/analysis/pcap/test_record_walk.py).
 *
 * It never parses more than the pcap record header, plus, for a sharded
 * Ethernet capture, the IPv4 header fields that Shard.foreign reads: the same
 * bytes, the same CRC-32 (zlib's), the same decision.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define MAX_RECORD (1u << 20) /* files.MAX_RECORD */
#define ETHERNET 1

static uint32_t crc_table[256];

static void crc_init(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[n] = c;
    }
}

static uint32_t crc32_of(const unsigned char *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    while (n--)
        c = crc_table[(c ^ *p++) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

static uint32_t read32(const unsigned char *p, int big) {
    if (big)
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* Shard.owns_key: the 12 bytes are both addresses, then both ports, as sent;
 * the shard is the CRC-32 of the smaller of that key and its reverse. */
static int owned(const unsigned char *key, long index, long count) {
    unsigned char back[12];
    memcpy(back, key + 4, 4);
    memcpy(back + 4, key, 4);
    memcpy(back + 8, key + 10, 2);
    memcpy(back + 10, key + 8, 2);
    const unsigned char *least = memcmp(key, back, 12) <= 0 ? key : back;
    return (long)(crc32_of(least, 12) % (uint32_t)count) == index;
}

/* UDP to VXLAN's port 4789 (ip: a 20-byte IPv4 header, then at least 4 bytes): a tunnel,
 * which the Python loop parses (shard.VXLAN). */
static int vxlan(const unsigned char *ip) {
    return ip[9] == 17 && ip[22] == 0x12 && ip[23] == 0xB5;
}

/* A common packet (Ethernet, IPv4 without options, TCP or UDP, not a fragment, not VXLAN) of
 * another shard's flow: Shard.foreign (pcap/shard.py), as inlined in files._pcap_records. */
static int foreign(const unsigned char *frame, Py_ssize_t caplen, long index, long count) {
    if (caplen < 38 || frame[12] != 0x08 || frame[13] != 0x00)
        return 0;
    const unsigned char *ip = frame + 14;
    int fragment = (ip[6] << 8 | ip[7]) & 0x3FFF;
    if (ip[0] != 0x45 || fragment || (ip[9] != 6 && ip[9] != 17) || vxlan(ip))
        return 0;
    return !owned(ip + 12, index, count);
}

/* FlowTable.ipv4's test: a common packet it reads in place. Returns its transport
 * protocol (6 or 17) and sets *l4, *stop and *total as ipv4() computes them; 0 when
 * ipv4() would return False (the Python loop then parses the packet in full). */
static int common(const unsigned char *data, Py_ssize_t start, Py_ssize_t end, Py_ssize_t *l4,
                  Py_ssize_t *stop, long *total) {
    Py_ssize_t at = start + 14;
    if (end - start < 14 || data[start + 12] != 0x08 || data[start + 13] != 0x00)
        return 0;
    if (at + 24 > end)
        return 0;
    const unsigned char *ip = data + at;
    long length = ip[2] << 8 | ip[3];
    int fragment = (ip[6] << 8 | ip[7]) & 0x3FFF;
    if (ip[0] != 0x45 || fragment || length < 24)
        return 0;
    *stop = at + length < end ? at + length : end;
    *l4 = at + 20;
    *total = length;
    if (ip[9] == 6 && at + 40 <= *stop)
        return 6;
    if (ip[9] == 17 && at + 28 <= *stop && !vxlan(ip))
        return 17;
    return 0;
}

/* Hands a common packet to the flow table: handler(key, frame, time, buf, l4, stop,
 * total, 1), as FlowTable.ipv4 calls _tcp_packet or _udp_packet. */
static int hand_on(PyObject *handler, PyObject *clock, PyObject *frame_name, PyObject *buffer,
                   const unsigned char *data, Py_ssize_t start, long long frame, double time,
                   Py_ssize_t l4, Py_ssize_t stop, long total) {
    PyObject *args[8] = {NULL};
    int ok = -1;
    args[0] = PyBytes_FromStringAndSize((const char *)data + start + 26, 12);
    args[1] = PyLong_FromLongLong(frame);
    args[2] = PyFloat_FromDouble(time);
    args[3] = buffer;
    Py_INCREF(buffer);
    args[4] = PyLong_FromSsize_t(l4);
    args[5] = PyLong_FromSsize_t(stop);
    args[6] = PyLong_FromLong(total);
    args[7] = PyLong_FromLong(1);
    for (int i = 0; i < 8; i++)
        if (args[i] == NULL)
            goto done;
    if (clock != Py_None && PyObject_SetAttr(clock, frame_name, args[1]) < 0)
        goto done;
    PyObject *result = PyObject_Vectorcall(handler, args, 8, NULL);
    if (result != NULL) {
        Py_DECREF(result);
        ok = 0;
    }
done:
    for (int i = 0; i < 8; i++)
        Py_XDECREF(args[i]);
    return ok;
}

PyDoc_STRVAR(walk_doc,
"walk(buf, pos, frame, big_endian, scale, linktype, shard_index, shard_count,\n"
"     tcp=None, udp=None, clock=None, sweep_mask=0) -> (records, pos, frame, truncated)\n\n"
"Every complete record of buf from pos whose header is sound, as the Record\n"
"tuples (frame, time, linktype, buf, start, end) files._pcap_records yields, without\n"
"the common packets of other shards' flows (shard_count 0: no sharding).\n"
"Stops at the first record that is cut short or has a corrupt header; pos\n"
"is where it stopped, frame the last frame number given out, truncated how\n"
"many records were captured shorter than they were on the wire.\n\n"
"With tcp and udp (a FlowTable's _tcp_packet and _udp_packet), an Ethernet\n"
"capture's common packets that FlowTable.ipv4 would read in place are handed\n"
"to them here (clock.frame set first, unless clock is None), and the walk\n"
"stops after the first record it gives back instead: that one is read, in\n"
"order, by the Python loop. So is every frame f with f & sweep_mask == 0.");

static PyObject *walk(PyObject *self, PyObject *args, PyObject *kwargs) {
    (void)self;
    static char *keywords[] = {"buf", "pos", "frame", "big_endian", "scale", "linktype",
                               "shard_index", "shard_count", "tcp", "udp", "clock",
                               "sweep_mask", NULL};
    PyObject *buffer, *tcp = Py_None, *udp = Py_None, *clock = Py_None;
    Py_ssize_t pos;
    long long frame, sweep_mask = 0;
    int big;
    double scale;
    long linktype, index, count;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "SnLpdlll|OOOL", keywords, &buffer, &pos,
                                     &frame, &big, &scale, &linktype, &index, &count, &tcp, &udp,
                                     &clock, &sweep_mask))
        return NULL;
    const unsigned char *data = (const unsigned char *)PyBytes_AS_STRING(buffer);
    Py_ssize_t size = PyBytes_GET_SIZE(buffer);
    if (pos < 0 || pos > size) {
        PyErr_SetString(PyExc_ValueError, "pos outside the buffer");
        return NULL;
    }
    int sharded = count > 0 && linktype == ETHERNET;
    int handing = tcp != Py_None && udp != Py_None && linktype == ETHERNET;
    PyObject *records = PyList_New(0);
    PyObject *link = PyLong_FromLong(linktype);
    PyObject *frame_name = PyUnicode_InternFromString("frame");
    if (records == NULL || link == NULL || frame_name == NULL)
        goto fail;
    long long truncated = 0;
    while (size - pos >= 16) {
        const unsigned char *head = data + pos;
        uint32_t seconds = read32(head, big), fraction = read32(head + 4, big);
        uint32_t caplen = read32(head + 8, big), wirelen = read32(head + 12, big);
        if (caplen > MAX_RECORD || (Py_ssize_t)caplen > size - pos - 16)
            break; /* corrupt, or not all here: the Python loop takes it from here */
        Py_ssize_t start = pos + 16, end = start + caplen;
        frame++;
        if (wirelen > caplen)
            truncated++;
        pos = end;
        if (sharded && foreign(data + start, caplen, index, count))
            continue;
        double time = (double)seconds + (double)fraction * scale;
        if (handing && (sweep_mask == 0 || (frame & sweep_mask) != 0)) {
            Py_ssize_t l4, stop;
            long total;
            int proto = common(data, start, end, &l4, &stop, &total);
            if (proto != 0) {
                if (hand_on(proto == 6 ? tcp : udp, clock, frame_name, buffer, data, start, frame,
                            time, l4, stop, total) < 0)
                    goto fail;
                continue;
            }
        }
        PyObject *record = Py_BuildValue("(LdOOnn)", frame, time, link, buffer, start, end);
        if (record == NULL || PyList_Append(records, record) < 0) {
            Py_XDECREF(record);
            goto fail;
        }
        Py_DECREF(record);
        if (handing)
            break; /* the Python loop reads this one before any later packet is handed on */
    }
    Py_DECREF(link);
    Py_DECREF(frame_name);
    return Py_BuildValue("(NnLL)", records, pos, frame, truncated);
fail:
    Py_XDECREF(records);
    Py_XDECREF(link);
    Py_XDECREF(frame_name);
    return NULL;
}

PyDoc_STRVAR(crc_doc, "crc32(data) -> int: zlib.crc32, as walk() computes it (for tests).");

static PyObject *crc32_py(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer view;
    if (!PyArg_ParseTuple(args, "y*", &view))
        return NULL;
    uint32_t value = crc32_of((const unsigned char *)view.buf, (size_t)view.len);
    PyBuffer_Release(&view);
    return PyLong_FromUnsignedLong(value);
}

static PyMethodDef methods[] = {
    {"walk", (PyCFunction)(void (*)(void))walk, METH_VARARGS | METH_KEYWORDS, walk_doc},
    {"crc32", crc32_py, METH_VARARGS, crc_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "benches.analysis.pcap._records",
    "The pcap record walk in C; pcap/files.py holds the pure-Python reference.", -1, methods,
};

PyMODINIT_FUNC PyInit__records(void) {
    crc_init();
    PyObject *m = PyModule_Create(&module);
    if (m != NULL && PyModule_AddIntConstant(m, "VERSION", 3) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
