;; The f64 WebAssembly SIMD kernels of the runtime (src/runtime/wasm.ts loads them).
;; `npm run wasm` compiles this file into kernels.wasm.ts with wabt;
;; test/runtime/wasm.test.ts checks that the two agree.
;;
;; products: M v_b of one matrix with a batch of vectors (BatchProducts, behind BatchMapF64);
;; products_t: M^T u (ResidentMatrix, behind opnorm2); lu_eliminate: a step of LU, and
;; lu_eliminate2 two of them in one pass;
;; chol_update: a step of Cholesky (opnorm2Upper's certificate); cd_sweep_composite: a sweep
;; of coordinate descent on a separable composite quadratic with one Gram term (composite-cd.ts);
;; gram_rows: M^T (M v) in one pass over M (ResidentMatrix.gram, behind opnorm2).
;; Register blocking: 4 rows of M by 2 samples, each accumulator an f64x2 over k (8 of them,
;; plus 4 loads per step: 14 of the 16 SIMD registers of x86-64). Every M entry loaded feeds
;; two samples, every v entry four rows.
(module
  (memory (export "memory") 1)
  ;; out[b rowsP + r] = sum_k M[r colsP + k] V[b colsP + k] for b < BP, r < rowsP, with
  ;; BP even, rowsP a multiple of 4, colsP even (the caller pads with zeros). Arguments are
  ;; byte offsets into memory ($m, $v, $o) and counts.
  (func (export "products") (param $m i32) (param $rowsP i32) (param $colsP i32) (param $v i32) (param $BP i32) (param $o i32)
    (local $rowBytes i32) (local $b i32) (local $r i32) (local $k i32)
    (local $pa i32) (local $pb i32) (local $m0 i32) (local $m1 i32) (local $m2 i32) (local $m3 i32) (local $q i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128)
    (local $x v128) (local $z v128) (local $w v128) (local $r0 i32) (local $rEnd i32) (local $R i32)
    (local.set $rowBytes (i32.shl (local.get $colsP) (i32.const 3)))
    ;; Rows in blocks of R (about 256 KiB of M, a multiple of 4): each block is read from cache
    ;; for every pair of samples, instead of all of M per pair (2 MiB at h = 512).
    (local.set $R (i32.and (i32.div_u (i32.const 32768) (local.get $colsP)) (i32.const -4)))
    (if (i32.lt_u (local.get $R) (i32.const 4)) (then (local.set $R (i32.const 4))))
    (local.set $r0 (i32.const 0))
    (block $r0done
      (loop $r0loop
    (br_if $r0done (i32.ge_u (local.get $r0) (local.get $rowsP)))
    (local.set $rEnd (i32.add (local.get $r0) (local.get $R)))
    (if (i32.gt_u (local.get $rEnd) (local.get $rowsP)) (then (local.set $rEnd (local.get $rowsP))))
    (local.set $b (i32.const 0))
    (block $bdone
      (loop $bloop
        (br_if $bdone (i32.ge_u (local.get $b) (local.get $BP)))
        (local.set $pa (i32.add (local.get $v) (i32.mul (local.get $b) (local.get $rowBytes))))
        (local.set $pb (i32.add (local.get $pa) (local.get $rowBytes)))
        (local.set $r (local.get $r0))
        (block $rdone
          (loop $rloop
            (br_if $rdone (i32.ge_u (local.get $r) (local.get $rEnd)))
            (local.set $m0 (i32.add (local.get $m) (i32.mul (local.get $r) (local.get $rowBytes))))
            (local.set $m1 (i32.add (local.get $m0) (local.get $rowBytes)))
            (local.set $m2 (i32.add (local.get $m1) (local.get $rowBytes)))
            (local.set $m3 (i32.add (local.get $m2) (local.get $rowBytes)))
            (local.set $a0 (v128.const i64x2 0 0)) (local.set $a1 (v128.const i64x2 0 0))
            (local.set $a2 (v128.const i64x2 0 0)) (local.set $a3 (v128.const i64x2 0 0))
            (local.set $c0 (v128.const i64x2 0 0)) (local.set $c1 (v128.const i64x2 0 0))
            (local.set $c2 (v128.const i64x2 0 0)) (local.set $c3 (v128.const i64x2 0 0))
            (local.set $k (i32.const 0))
            (block $kdone
              (loop $kloop
                (br_if $kdone (i32.ge_u (local.get $k) (local.get $rowBytes)))
                (local.set $x (v128.load (i32.add (local.get $pa) (local.get $k))))
                (local.set $z (v128.load (i32.add (local.get $pb) (local.get $k))))
                (local.set $w (v128.load (i32.add (local.get $m0) (local.get $k))))
                (local.set $a0 (f64x2.add (local.get $a0) (f64x2.mul (local.get $w) (local.get $x))))
                (local.set $c0 (f64x2.add (local.get $c0) (f64x2.mul (local.get $w) (local.get $z))))
                (local.set $w (v128.load (i32.add (local.get $m1) (local.get $k))))
                (local.set $a1 (f64x2.add (local.get $a1) (f64x2.mul (local.get $w) (local.get $x))))
                (local.set $c1 (f64x2.add (local.get $c1) (f64x2.mul (local.get $w) (local.get $z))))
                (local.set $w (v128.load (i32.add (local.get $m2) (local.get $k))))
                (local.set $a2 (f64x2.add (local.get $a2) (f64x2.mul (local.get $w) (local.get $x))))
                (local.set $c2 (f64x2.add (local.get $c2) (f64x2.mul (local.get $w) (local.get $z))))
                (local.set $w (v128.load (i32.add (local.get $m3) (local.get $k))))
                (local.set $a3 (f64x2.add (local.get $a3) (f64x2.mul (local.get $w) (local.get $x))))
                (local.set $c3 (f64x2.add (local.get $c3) (f64x2.mul (local.get $w) (local.get $z))))
                (local.set $k (i32.add (local.get $k) (i32.const 16)))
                (br $kloop)))
            ;; q: byte offset of out[b rowsP + r]; the second sample's row is rowsP entries on.
            (local.set $q (i32.add (local.get $o) (i32.shl (i32.add (i32.mul (local.get $b) (local.get $rowsP)) (local.get $r)) (i32.const 3))))
            (f64.store offset=0 (local.get $q) (f64.add (f64x2.extract_lane 0 (local.get $a0)) (f64x2.extract_lane 1 (local.get $a0))))
            (f64.store offset=8 (local.get $q) (f64.add (f64x2.extract_lane 0 (local.get $a1)) (f64x2.extract_lane 1 (local.get $a1))))
            (f64.store offset=16 (local.get $q) (f64.add (f64x2.extract_lane 0 (local.get $a2)) (f64x2.extract_lane 1 (local.get $a2))))
            (f64.store offset=24 (local.get $q) (f64.add (f64x2.extract_lane 0 (local.get $a3)) (f64x2.extract_lane 1 (local.get $a3))))
            (local.set $q (i32.add (local.get $q) (i32.shl (local.get $rowsP) (i32.const 3))))
            (f64.store offset=0 (local.get $q) (f64.add (f64x2.extract_lane 0 (local.get $c0)) (f64x2.extract_lane 1 (local.get $c0))))
            (f64.store offset=8 (local.get $q) (f64.add (f64x2.extract_lane 0 (local.get $c1)) (f64x2.extract_lane 1 (local.get $c1))))
            (f64.store offset=16 (local.get $q) (f64.add (f64x2.extract_lane 0 (local.get $c2)) (f64x2.extract_lane 1 (local.get $c2))))
            (f64.store offset=24 (local.get $q) (f64.add (f64x2.extract_lane 0 (local.get $c3)) (f64x2.extract_lane 1 (local.get $c3))))
            (local.set $r (i32.add (local.get $r) (i32.const 4)))
            (br $rloop)))
        (local.set $b (i32.add (local.get $b) (i32.const 2)))
        (br $bloop)))
    (local.set $r0 (i32.add (local.get $r0) (local.get $R)))
    (br $r0loop))))

  ;; lu_eliminate: step k of LU with partial pivoting on the row-major n x n matrix at byte
  ;; offset $a, its pivot row already in place (lu.ts luFactor): for every row i > k,
  ;; l = a[i, k] * inv (inv = 1 / a[k, k]), a[i, k] = l, a[i, k+1..n) -= l a[k, k+1..n),
  ;; two entries per SIMD step. The same operations, in the same order, as the JavaScript
  ;; loop (a multiply then a subtract, no fused multiply-add): the factors agree bit for bit.
  (func (export "lu_eliminate") (param $a i32) (param $n i32) (param $k i32) (param $inv f64)
    (local $rowBytes i32) (local $pk i32) (local $pi i32) (local $i i32) (local $j i32)
    (local $pairEnd i32) (local $l f64) (local $lv v128)
    (local.set $rowBytes (i32.shl (local.get $n) (i32.const 3)))
    (local.set $pk (i32.add (local.get $a) (i32.mul (local.get $k) (local.get $rowBytes))))
    ;; pairs of entries from column k + 1: (n - k - 1) rounded down to even, in bytes
    (local.set $pairEnd (i32.add (i32.shl (i32.add (local.get $k) (i32.const 1)) (i32.const 3))
      (i32.shl (i32.and (i32.sub (i32.sub (local.get $n) (local.get $k)) (i32.const 1)) (i32.const -2)) (i32.const 3))))
    (local.set $i (i32.add (local.get $k) (i32.const 1)))
    (local.set $pi (i32.add (local.get $pk) (local.get $rowBytes)))
    (block $idone
      (loop $iloop
        (br_if $idone (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $l (f64.mul (f64.load (i32.add (local.get $pi) (i32.shl (local.get $k) (i32.const 3)))) (local.get $inv)))
        (f64.store (i32.add (local.get $pi) (i32.shl (local.get $k) (i32.const 3))) (local.get $l))
        (if (f64.ne (local.get $l) (f64.const 0))
          (then
            (local.set $lv (f64x2.splat (local.get $l)))
            (local.set $j (i32.shl (i32.add (local.get $k) (i32.const 1)) (i32.const 3)))
            (block $jdone
              (loop $jloop
                (br_if $jdone (i32.ge_u (local.get $j) (local.get $pairEnd)))
                (v128.store (i32.add (local.get $pi) (local.get $j))
                  (f64x2.sub (v128.load (i32.add (local.get $pi) (local.get $j)))
                    (f64x2.mul (local.get $lv) (v128.load (i32.add (local.get $pk) (local.get $j))))))
                (local.set $j (i32.add (local.get $j) (i32.const 16)))
                (br $jloop)))
            (if (i32.lt_u (local.get $j) (local.get $rowBytes))
              (then
                (f64.store (i32.add (local.get $pi) (local.get $j))
                  (f64.sub (f64.load (i32.add (local.get $pi) (local.get $j)))
                    (f64.mul (local.get $l) (f64.load (i32.add (local.get $pk) (local.get $j))))))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (local.set $pi (i32.add (local.get $pi) (local.get $rowBytes)))
        (br $iloop))))
 
  ;; $axpy: dst[from..end) -= l src[from..end) (byte offsets; pairs up to pairEnd, then one entry).
  (func $axpy (param $dst i32) (param $src i32) (param $l f64) (param $from i32) (param $pairEnd i32) (param $end i32)
    (local $j i32) (local $lv v128)
    (local.set $lv (f64x2.splat (local.get $l)))
    (local.set $j (local.get $from))
    (block $jdone
      (loop $jloop
        (br_if $jdone (i32.ge_u (local.get $j) (local.get $pairEnd)))
        (v128.store (i32.add (local.get $dst) (local.get $j))
          (f64x2.sub (v128.load (i32.add (local.get $dst) (local.get $j)))
            (f64x2.mul (local.get $lv) (v128.load (i32.add (local.get $src) (local.get $j))))))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $jloop)))
    (if (i32.lt_u (local.get $j) (local.get $end))
      (then
        (f64.store (i32.add (local.get $dst) (local.get $j))
          (f64.sub (f64.load (i32.add (local.get $dst) (local.get $j)))
            (f64.mul (local.get $l) (f64.load (i32.add (local.get $src) (local.get $j)))))))))
  ;; lu_eliminate2: steps k and k + 1 of LU together (lu.ts luFactor), for the rows i > k + 1,
  ;; with column k's multipliers already in place, column k + 1 already updated by step k, the
  ;; pivot of column k + 1 chosen and row k + 1 already updated by step k: l1 = a[i, k + 1] *
  ;; inv1 is stored, then a[i, k+2..n) = (a[i, j] - l0 a[k, j]) - l1 a[k + 1, j], one pass over
  ;; the trailing rows where two steps made two. Each subtraction is skipped when its multiplier
  ;; is 0, as in lu_eliminate: the same operations in the same order as two lu_eliminate steps,
  ;; so the factors agree bit for bit.
  (func (export "lu_eliminate2") (param $a i32) (param $n i32) (param $k i32) (param $inv1 f64)
    (local $rowBytes i32) (local $pk i32) (local $pk1 i32) (local $pi i32) (local $i i32) (local $j i32)
    (local $from i32) (local $pairEnd i32) (local $l0 f64) (local $l1 f64) (local $v0 v128) (local $v1 v128)
    (local.set $rowBytes (i32.shl (local.get $n) (i32.const 3)))
    (local.set $pk (i32.add (local.get $a) (i32.mul (local.get $k) (local.get $rowBytes))))
    (local.set $pk1 (i32.add (local.get $pk) (local.get $rowBytes)))
    ;; columns k + 2 .. n in bytes, the pairs first: (n - k - 2) rounded down to even
    (local.set $from (i32.shl (i32.add (local.get $k) (i32.const 2)) (i32.const 3)))
    (local.set $pairEnd (i32.add (local.get $from)
      (i32.shl (i32.and (i32.sub (i32.sub (local.get $n) (local.get $k)) (i32.const 2)) (i32.const -2)) (i32.const 3))))
    (local.set $i (i32.add (local.get $k) (i32.const 2)))
    (local.set $pi (i32.add (local.get $pk1) (local.get $rowBytes)))
    (block $idone
      (loop $iloop
        (br_if $idone (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $l0 (f64.load (i32.add (local.get $pi) (i32.shl (local.get $k) (i32.const 3)))))
        (local.set $l1 (f64.mul (f64.load offset=8 (i32.add (local.get $pi) (i32.shl (local.get $k) (i32.const 3)))) (local.get $inv1)))
        (f64.store offset=8 (i32.add (local.get $pi) (i32.shl (local.get $k) (i32.const 3))) (local.get $l1))
        (if (i32.and (f64.ne (local.get $l0) (f64.const 0)) (f64.ne (local.get $l1) (f64.const 0)))
          (then
            (local.set $v0 (f64x2.splat (local.get $l0)))
            (local.set $v1 (f64x2.splat (local.get $l1)))
            (local.set $j (local.get $from))
            (block $jdone
              (loop $jloop
                (br_if $jdone (i32.ge_u (local.get $j) (local.get $pairEnd)))
                (v128.store (i32.add (local.get $pi) (local.get $j))
                  (f64x2.sub
                    (f64x2.sub (v128.load (i32.add (local.get $pi) (local.get $j)))
                      (f64x2.mul (local.get $v0) (v128.load (i32.add (local.get $pk) (local.get $j)))))
                    (f64x2.mul (local.get $v1) (v128.load (i32.add (local.get $pk1) (local.get $j))))))
                (local.set $j (i32.add (local.get $j) (i32.const 16)))
                (br $jloop)))
            (if (i32.lt_u (local.get $j) (local.get $rowBytes))
              (then
                (f64.store (i32.add (local.get $pi) (local.get $j))
                  (f64.sub
                    (f64.sub (f64.load (i32.add (local.get $pi) (local.get $j)))
                      (f64.mul (local.get $l0) (f64.load (i32.add (local.get $pk) (local.get $j)))))
                    (f64.mul (local.get $l1) (f64.load (i32.add (local.get $pk1) (local.get $j))))))))
          )
          (else
            (if (f64.ne (local.get $l0) (f64.const 0))
              (then (call $axpy (local.get $pi) (local.get $pk) (local.get $l0) (local.get $from) (local.get $pairEnd) (local.get $rowBytes))))
            (if (f64.ne (local.get $l1) (f64.const 0))
              (then (call $axpy (local.get $pi) (local.get $pk1) (local.get $l1) (local.get $from) (local.get $pairEnd) (local.get $rowBytes))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (local.set $pi (i32.add (local.get $pi) (local.get $rowBytes)))
        (br $iloop))))

  ;; chol_update: the trailing update of step j of the right-looking Cholesky factorization
  ;; (matrix.ts choleskyInPlace) of the row-major n x n matrix at byte offset $a, row j of R
  ;; already in place: for every row i > j with r = a[j, i] nonzero, a[i, i..n) -= r a[j, i..n)
  ;; (the upper triangle only), two entries per SIMD step; a multiply then a subtract, as the
  ;; JavaScript loop does: the factors agree bit for bit.
  (func (export "chol_update") (param $a i32) (param $n i32) (param $j i32)
    (local $rowBytes i32) (local $pj i32) (local $end i32) (local $shift i32) (local $i i32)
    (local $q i32) (local $pairEnd i32) (local $r f64) (local $rv v128)
    (local.set $rowBytes (i32.shl (local.get $n) (i32.const 3)))
    (local.set $pj (i32.add (local.get $a) (i32.mul (local.get $j) (local.get $rowBytes))))
    (local.set $end (i32.add (local.get $pj) (local.get $rowBytes)))
    ;; an entry of row i lies $shift bytes after the same column's entry of row j
    (local.set $shift (local.get $rowBytes))
    (local.set $i (i32.add (local.get $j) (i32.const 1)))
    (block $idone
      (loop $iloop
        (br_if $idone (i32.ge_u (local.get $i) (local.get $n)))
        ;; q: byte address of a[j, i]
        (local.set $q (i32.add (local.get $pj) (i32.shl (local.get $i) (i32.const 3))))
        (local.set $r (f64.load (local.get $q)))
        (if (f64.ne (local.get $r) (f64.const 0))
          (then
            (local.set $rv (f64x2.splat (local.get $r)))
            ;; pairs of entries from column i: (n - i) rounded down to even, in bytes
            (local.set $pairEnd (i32.add (local.get $q)
              (i32.shl (i32.and (i32.sub (local.get $n) (local.get $i)) (i32.const -2)) (i32.const 3))))
            (block $ldone
              (loop $lloop
                (br_if $ldone (i32.ge_u (local.get $q) (local.get $pairEnd)))
                (v128.store (i32.add (local.get $q) (local.get $shift))
                  (f64x2.sub (v128.load (i32.add (local.get $q) (local.get $shift)))
                    (f64x2.mul (local.get $rv) (v128.load (local.get $q)))))
                (local.set $q (i32.add (local.get $q) (i32.const 16)))
                (br $lloop)))
            (if (i32.lt_u (local.get $q) (local.get $end))
              (then
                (f64.store (i32.add (local.get $q) (local.get $shift))
                  (f64.sub (f64.load (i32.add (local.get $q) (local.get $shift)))
                    (f64.mul (local.get $r) (f64.load (local.get $q)))))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (local.set $shift (i32.add (local.get $shift) (local.get $rowBytes)))
        (br $iloop))))

  ;; products_t: out[j] = sum_i u[i] M[i colsP + j] for j < colsP (M^T u), rowsP a multiple of
  ;; 4 and colsP even (zero-padded by the caller). Four rows per pass over out, two columns
  ;; per SIMD step: M is read once, out once per four rows.
  (func (export "products_t") (param $m i32) (param $rowsP i32) (param $colsP i32) (param $u i32) (param $o i32)
    (local $rowBytes i32) (local $i i32) (local $j i32) (local $p0 i32) (local $p1 i32) (local $p2 i32) (local $p3 i32)
    (local $u0 v128) (local $u1 v128) (local $u2 v128) (local $u3 v128)
    (local.set $rowBytes (i32.shl (local.get $colsP) (i32.const 3)))
    (local.set $j (i32.const 0))
    (block $zdone
      (loop $zloop
        (br_if $zdone (i32.ge_u (local.get $j) (local.get $rowBytes)))
        (v128.store (i32.add (local.get $o) (local.get $j)) (v128.const i64x2 0 0))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $zloop)))
    (local.set $i (i32.const 0))
    (block $idone
      (loop $iloop
        (br_if $idone (i32.ge_u (local.get $i) (local.get $rowsP)))
        (local.set $p0 (i32.add (local.get $m) (i32.mul (local.get $i) (local.get $rowBytes))))
        (local.set $p1 (i32.add (local.get $p0) (local.get $rowBytes)))
        (local.set $p2 (i32.add (local.get $p1) (local.get $rowBytes)))
        (local.set $p3 (i32.add (local.get $p2) (local.get $rowBytes)))
        (local.set $u0 (f64x2.splat (f64.load offset=0 (i32.add (local.get $u) (i32.shl (local.get $i) (i32.const 3))))))
        (local.set $u1 (f64x2.splat (f64.load offset=8 (i32.add (local.get $u) (i32.shl (local.get $i) (i32.const 3))))))
        (local.set $u2 (f64x2.splat (f64.load offset=16 (i32.add (local.get $u) (i32.shl (local.get $i) (i32.const 3))))))
        (local.set $u3 (f64x2.splat (f64.load offset=24 (i32.add (local.get $u) (i32.shl (local.get $i) (i32.const 3))))))
        (local.set $j (i32.const 0))
        (block $jdone
          (loop $jloop
            (br_if $jdone (i32.ge_u (local.get $j) (local.get $rowBytes)))
            (v128.store (i32.add (local.get $o) (local.get $j))
              (f64x2.add
                (f64x2.add
                  (f64x2.add (v128.load (i32.add (local.get $o) (local.get $j)))
                    (f64x2.mul (local.get $u0) (v128.load (i32.add (local.get $p0) (local.get $j)))))
                  (f64x2.mul (local.get $u1) (v128.load (i32.add (local.get $p1) (local.get $j)))))
                (f64x2.add
                  (f64x2.mul (local.get $u2) (v128.load (i32.add (local.get $p2) (local.get $j))))
                  (f64x2.mul (local.get $u3) (v128.load (i32.add (local.get $p3) (local.get $j)))))))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $jloop)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $iloop))))
 
  ;; cd_sweep_composite: one sweep of coordinate descent on a separable composite quadratic
  ;; with one Gram term (composite-cd.ts `sweepGram`, its JavaScript twin: the same
  ;; operations in the same order, so the iterates agree bit for bit), over the coordinates
  ;; listed at $which (i32, $count of them) or 0..$count when $which is 0 (no list lies at
  ;; address 0: the columns do; a byte address is unsigned, so no sign test). Column j of Z
  ;; is the nP entries at $cols + 8 j nP (nP even, zero-padded, as is r = Z y at $r); the
  ;; gradient of coordinate j is g = (coef z_j'r + shift_j y_j) - c_j, its curvature
  ;; h_j = H_jj > 0. $mode: 0 no penalty (y_j - g / h_j), 1 l1 with weights at $a
  ;; (soft(h_j y_j - g, a_j) / h_j), 2 the box [a_j, b_j] (clip(y_j - g / h_j)). Returns the
  ;; largest |change| sqrt(h_j).
  (func (export "cd_sweep_composite") (param $cols i32) (param $nP i32) (param $coef f64) (param $h i32) (param $shift i32)
    (param $c i32) (param $y i32) (param $r i32) (param $mode i32) (param $a i32) (param $b i32) (param $which i32) (param $count i32)
    (result f64)
    (local $t i32) (local $j i32) (local $j8 i32) (local $hj f64) (local $off i32) (local $i i32) (local $bytes i32)
    (local $acc0 v128) (local $acc1 v128) (local $dot f64) (local $old f64) (local $g f64) (local $rho f64) (local $w f64)
    (local $next f64) (local $delta f64) (local $step v128) (local $change f64) (local $pj i32)
    (local.set $bytes (i32.shl (local.get $nP) (i32.const 3)))
    (local.set $change (f64.const 0))
    (local.set $t (i32.const 0))
    (block $tdone
      (loop $tloop
        (br_if $tdone (i32.ge_u (local.get $t) (local.get $count)))
        (local.set $j (if (result i32) (i32.eqz (local.get $which))
          (then (local.get $t))
          (else (i32.load (i32.add (local.get $which) (i32.shl (local.get $t) (i32.const 2)))))))
        (local.set $j8 (i32.shl (local.get $j) (i32.const 3)))
        (local.set $pj (i32.add (local.get $y) (local.get $j8)))
        (local.set $hj (f64.load (i32.add (local.get $h) (local.get $j8))))
        (local.set $off (i32.add (local.get $cols) (i32.mul (local.get $j) (local.get $bytes))))
        ;; dot = z_j'r: entry e in lane e mod 4 (acc0 holds lanes 0, 1; acc1 lanes 2, 3),
        ;; summed (l0 + l2) + (l1 + l3)
        (local.set $acc0 (v128.const i64x2 0 0))
        (local.set $acc1 (v128.const i64x2 0 0))
        (local.set $i (i32.const 0))
        (block $ddone
          (loop $dloop
            (br_if $ddone (i32.gt_u (i32.add (local.get $i) (i32.const 16)) (local.get $bytes)))
            (local.set $acc0 (f64x2.add (local.get $acc0)
              (f64x2.mul (v128.load (i32.add (local.get $off) (local.get $i))) (v128.load (i32.add (local.get $r) (local.get $i))))))
            (local.set $i (i32.add (local.get $i) (i32.const 16)))
            (br_if $ddone (i32.gt_u (i32.add (local.get $i) (i32.const 16)) (local.get $bytes)))
            (local.set $acc1 (f64x2.add (local.get $acc1)
              (f64x2.mul (v128.load (i32.add (local.get $off) (local.get $i))) (v128.load (i32.add (local.get $r) (local.get $i))))))
            (local.set $i (i32.add (local.get $i) (i32.const 16)))
            (br $dloop)))
        (local.set $acc0 (f64x2.add (local.get $acc0) (local.get $acc1)))
        (local.set $dot (f64.add (f64x2.extract_lane 0 (local.get $acc0)) (f64x2.extract_lane 1 (local.get $acc0))))
        (local.set $old (f64.load (local.get $pj)))
        (local.set $g (f64.sub
          (f64.add (f64.mul (local.get $coef) (local.get $dot))
            (f64.mul (f64.load (i32.add (local.get $shift) (local.get $j8))) (local.get $old)))
          (f64.load (i32.add (local.get $c) (local.get $j8)))))
        (if (i32.eq (local.get $mode) (i32.const 1))
          (then
            (local.set $rho (f64.sub (f64.mul (local.get $hj) (local.get $old)) (local.get $g)))
            (local.set $w (f64.load (i32.add (local.get $a) (local.get $j8))))
            (local.set $next
              (if (result f64) (f64.gt (local.get $rho) (local.get $w))
                (then (f64.div (f64.sub (local.get $rho) (local.get $w)) (local.get $hj)))
                (else (if (result f64) (f64.lt (local.get $rho) (f64.neg (local.get $w)))
                  (then (f64.div (f64.add (local.get $rho) (local.get $w)) (local.get $hj)))
                  (else (f64.const 0)))))))
          (else
            (local.set $next (f64.sub (local.get $old) (f64.div (local.get $g) (local.get $hj))))
            (if (i32.eq (local.get $mode) (i32.const 2))
              (then
                (local.set $next (f64.min (f64.load (i32.add (local.get $b) (local.get $j8)))
                  (f64.max (f64.load (i32.add (local.get $a) (local.get $j8))) (local.get $next))))))))
        (local.set $delta (f64.sub (local.get $next) (local.get $old)))
        (if (f64.ne (local.get $delta) (f64.const 0))
          (then
            (f64.store (local.get $pj) (local.get $next))
            ;; r += delta z_j
            (local.set $step (f64x2.splat (local.get $delta)))
            (local.set $i (i32.const 0))
            (block $udone
              (loop $uloop
                (br_if $udone (i32.ge_u (local.get $i) (local.get $bytes)))
                (v128.store (i32.add (local.get $r) (local.get $i))
                  (f64x2.add (v128.load (i32.add (local.get $r) (local.get $i)))
                    (f64x2.mul (local.get $step) (v128.load (i32.add (local.get $off) (local.get $i))))))
                (local.set $i (i32.add (local.get $i) (i32.const 16)))
                (br $uloop)))
            (local.set $change (f64.max (local.get $change)
              (f64.mul (f64.abs (local.get $delta)) (f64.sqrt (local.get $hj)))))))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br $tloop)))
    (local.get $change))

  ;; gram_rows: out[0..colsP) = M^T (M v) in one pass over M from memory (opnorm2's Lanczos
  ;; step on A^T A, where M v then M^T u read it twice), four rows at a time: while
  ;; out += s0 M_0 + s1 M_1 + s2 M_2 + s3 M_3 for one group of four rows (s_r = M_r . v, the
  ;; rows still in cache), the dot products of the next group with v, so that M streams in
  ;; from memory all along. rowsP a multiple of 4, colsP even, zero-padded by the caller.
  (func (export "gram_rows") (param $m i32) (param $rowsP i32) (param $colsP i32) (param $v i32) (param $o i32)
    (local $rowBytes i32) (local $groupBytes i32) (local $i i32) (local $k i32) (local $p i32) (local $n i32)
    (local $p1 i32) (local $p2 i32) (local $p3 i32) (local $n1 i32) (local $n2 i32) (local $n3 i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $x v128)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128)
    (local.set $rowBytes (i32.shl (local.get $colsP) (i32.const 3)))
    (local.set $groupBytes (i32.shl (local.get $rowBytes) (i32.const 2)))
    ;; out = 0, and the dot products of the first group
    (local.set $k (i32.const 0))
    (local.set $p (local.get $m))
    (block $zdone
      (loop $zloop
        (br_if $zdone (i32.ge_u (local.get $k) (local.get $rowBytes)))
        (v128.store (i32.add (local.get $o) (local.get $k)) (v128.const i64x2 0 0))
        (local.set $x (v128.load (i32.add (local.get $v) (local.get $k))))
        (local.set $n (i32.add (local.get $p) (local.get $k)))
        (local.set $a0 (f64x2.add (local.get $a0) (f64x2.mul (v128.load (local.get $n)) (local.get $x))))
        (local.set $n (i32.add (local.get $n) (local.get $rowBytes)))
        (local.set $a1 (f64x2.add (local.get $a1) (f64x2.mul (v128.load (local.get $n)) (local.get $x))))
        (local.set $n (i32.add (local.get $n) (local.get $rowBytes)))
        (local.set $a2 (f64x2.add (local.get $a2) (f64x2.mul (v128.load (local.get $n)) (local.get $x))))
        (local.set $n (i32.add (local.get $n) (local.get $rowBytes)))
        (local.set $a3 (f64x2.add (local.get $a3) (f64x2.mul (v128.load (local.get $n)) (local.get $x))))
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br $zloop)))
    (local.set $i (i32.const 0))
    (block $idone
      (loop $iloop
        (br_if $idone (i32.ge_u (local.get $i) (local.get $rowsP)))
        (local.set $s0 (f64x2.splat (f64.add (f64x2.extract_lane 0 (local.get $a0)) (f64x2.extract_lane 1 (local.get $a0)))))
        (local.set $s1 (f64x2.splat (f64.add (f64x2.extract_lane 0 (local.get $a1)) (f64x2.extract_lane 1 (local.get $a1)))))
        (local.set $s2 (f64x2.splat (f64.add (f64x2.extract_lane 0 (local.get $a2)) (f64x2.extract_lane 1 (local.get $a2)))))
        (local.set $s3 (f64x2.splat (f64.add (f64x2.extract_lane 0 (local.get $a3)) (f64x2.extract_lane 1 (local.get $a3)))))
        (local.set $a0 (v128.const i64x2 0 0)) (local.set $a1 (v128.const i64x2 0 0))
        (local.set $a2 (v128.const i64x2 0 0)) (local.set $a3 (v128.const i64x2 0 0))
        ;; p: this group's first row; n: the next group's (this one again after the last group:
        ;; its sums are then not used)
        (local.set $p (i32.add (local.get $m) (i32.mul (local.get $i) (local.get $rowBytes))))
        (local.set $n (i32.add (local.get $p) (local.get $groupBytes)))
        (if (i32.ge_u (i32.add (local.get $i) (i32.const 4)) (local.get $rowsP)) (then (local.set $n (local.get $p))))
        (local.set $p1 (i32.add (local.get $p) (local.get $rowBytes)))
        (local.set $p2 (i32.add (local.get $p1) (local.get $rowBytes)))
        (local.set $p3 (i32.add (local.get $p2) (local.get $rowBytes)))
        (local.set $n1 (i32.add (local.get $n) (local.get $rowBytes)))
        (local.set $n2 (i32.add (local.get $n1) (local.get $rowBytes)))
        (local.set $n3 (i32.add (local.get $n2) (local.get $rowBytes)))
        (local.set $k (i32.const 0))
        (block $kdone
          (loop $kloop
            (br_if $kdone (i32.ge_u (local.get $k) (local.get $rowBytes)))
            (v128.store (i32.add (local.get $o) (local.get $k))
              (f64x2.add
                (f64x2.add
                  (f64x2.add (v128.load (i32.add (local.get $o) (local.get $k)))
                    (f64x2.mul (local.get $s0) (v128.load (i32.add (local.get $p) (local.get $k)))))
                  (f64x2.mul (local.get $s1) (v128.load (i32.add (local.get $p1) (local.get $k)))))
                (f64x2.add
                  (f64x2.mul (local.get $s2) (v128.load (i32.add (local.get $p2) (local.get $k))))
                  (f64x2.mul (local.get $s3) (v128.load (i32.add (local.get $p3) (local.get $k)))))))
            (local.set $x (v128.load (i32.add (local.get $v) (local.get $k))))
            (local.set $a0 (f64x2.add (local.get $a0) (f64x2.mul (v128.load (i32.add (local.get $n) (local.get $k))) (local.get $x))))
            (local.set $a1 (f64x2.add (local.get $a1) (f64x2.mul (v128.load (i32.add (local.get $n1) (local.get $k))) (local.get $x))))
            (local.set $a2 (f64x2.add (local.get $a2) (f64x2.mul (v128.load (i32.add (local.get $n2) (local.get $k))) (local.get $x))))
            (local.set $a3 (f64x2.add (local.get $a3) (f64x2.mul (v128.load (i32.add (local.get $n3) (local.get $k))) (local.get $x))))
            (local.set $k (i32.add (local.get $k) (i32.const 16)))
            (br $kloop)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $iloop))))
)
