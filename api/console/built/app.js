var b,Ie,wt,I,ue,ne,He,ee,Ae,de,ce,kt,G=Symbol.for("pv"),oe={},se=[],xt=/^m(i|n|o|s|text|space)$/,_e=Array.isArray,pe=se.slice,B=Object.assign;function U(t){t&&t.parentNode&&t.remove()}function fe(t,e,n){var o,i,s,r={},a=arguments.length;for(s in e)s=="key"?o=e[s]:s=="ref"&&typeof t!="function"?i=e[s]:r[s]=e[s];return a>2&&(r.children=a>3?pe.call(arguments,2):n),j(t,r,o,i,null)}function j(t,e,n,o,i){var s={type:t,props:e,key:n,ref:o,__k:null,__:null,__b:0,__e:null,__c:null,constructor:G,__v:i||++Ie,__i:-1,__u:0};return!i&&b.vnode&&b.vnode(s),s}function re(t){return t.children}function W(t,e){this.props=t,this.context=e,this.__g=0}function H(t,e){if(e==null)return t.__&&H(t.__,t.__i+1);for(var n;e<t.__k.length;e++)if((n=t.__k[e])&&n.__e)return n.__e;return typeof t.type!="function"||t.props.__P?null:H(t)}function St(t){var e,n=t.__v,o=n.__e,i=[],s=[],r=t.__P;r&&((e=B({constructor:G},n)).__v=n.__v+1,b.vnode&&b.vnode(e),he(r,e,n,t.__n,r.namespaceURI,32&n.__u?[o]:null,i,o||H(n),32&n.__u,s),e.__v=n.__v,e.__.__k[e.__i]=e,Ve(i,e,s),n.__=n.__e=null,e.__e!=o&&Oe(e))}function Oe(t){if((t=t.__)&&t.__c&&!t.props.__P)return t.__e=null,t.__k.some(function(e){return e&&(t.__e=e.__e)}),Oe(t)}function Le(t){(8&t.__g||(t.__g|=8,I.push(t),ne++))&&ue==b.debounceRendering||((ue=b.debounceRendering)||queueMicrotask)(Ue)}function Ue(){try{for(var t,e=1;I.length;)I.length>e&&I.sort(He),t=I.shift(),e=I.length,8&t.__g&&St(t)}finally{(ne=I.length)&&(ue||queueMicrotask)(Ue)}}function Be(t,e,n,o,i,s,r,a,c,d,u){var m,f,l,_,$,h,g=o.__k||se,v=e.length;for(c=Tt(n,e,g,c,v),m=0;m<v;m++)(l=n.__k[m])!=null&&(f=~l.__i&&g[l.__i]||oe,l.__i=m,h=he(t,l,f,i,s,r,a,c,d,u),_=l.__e,(f.ref!=l.ref||8&f.__u)&&(f.ref&&me(f.ref,null,l,f),l.ref&&u.push(l.ref,l.__c||_,l)),$=$||_,4&l.__u?(c=qe(l,c,t,!f.__v),f.__e&&(f.__e=null)):typeof l.type=="function"&&h!==void 0?c=h:_&&(c=_.nextSibling),l.__u&=-21);return n.__e=$,c}function Tt(t,e,n,o,i){var s,r,a,c,d,u,m,f,l,_=n.length,$=_,h=0,g=0,v=t.__k=Array(i);for(s=0;s<i;s++)(r=e[s])!=null&&typeof r!="boolean"&&typeof r!="function"?(typeof r!="object"||r.constructor===String?r=v[s]=j(null,r):_e(r)?r=v[s]=j(re,{children:r}):r.constructor===G&&r.__b?r=v[s]=j(r.type,r.props,r.key,r.ref,r.__v):v[s]=r,c=s+h,r.__=t,r.__b=t.__b+1,a=null,~(d=r.__i=Ct(r,n,c,$))&&($--,(a=n[d])&&(a.__u|=2)),a&&a.__v?(r.__u|=16,d==c-1?h--:d==c+1?h++:d!=c&&(d>c?h--:h++,g=1)):(~d||(i>_?h--:i<_&&h++),typeof r.type!="function"&&(r.__u|=4))):v[s]=null;if(g){for(u=[],m=[],s=0;s<i;s++)if((r=v[s])&&16&r.__u){for(h=0,f=u.length;h<f;)u[l=h+f>>1]<r.__i?h=l+1:f=l;u[h]=r.__i,m[s]=h+1}for(h=u.length;s--;)m[s]&&(m[s]==h?h--:v[s].__u|=4)}if($)for(s=0;s<_;s++)!(a=n[s])||2&a.__u||(a.__e==o&&(o=H(a)),ge(a,a));return o}function qe(t,e,n,o){var i,s,r,a;if(typeof t.type=="function"){if(t.props.__P)return e;if(i=t.__k)for(s=0;s<i.length;s++)i[s]&&(i[s].__=t,e=qe(i[s],e,n,!1));return e}for(e&&!e.parentNode&&(e=H(t))&&!e.parentNode&&(e=null),r=t.__e,a=e;a&&a.nodeType==8;)a=a.nextSibling;for(r!=a&&(!o&&n.moveBefore&&r.parentNode?n.moveBefore(r,e):n.insertBefore(r,e||null)),e=r;(e=e&&e.nextSibling)&&e.nodeType==8&&!e.data.startsWith("$s"););return e}function Ct(t,e,n,o){var i,s=t.key,r=t.type,a=e[n],c=a&&!(2&a.__u);if(a===null&&s==null||c&&s==a.key&&r==a.type)return n;if(o>(c?1:0)){for(i=n-1;i>=0;i--)if((a=e[i])&&!(2&a.__u)&&s==a.key&&r==a.type)return i;for(i=n+1;i<e.length;i++)if((a=e[i])&&!(2&a.__u)&&s==a.key&&r==a.type)return i}return-1}function Me(t,e,n){n==null&&(n=""),e[0]=="-"?t.setProperty(e,n):t[e]=n}function Z(t,e,n,o,i){var s,r;if(e=="style")if(typeof n=="string")t.style.cssText=n;else{if(typeof o=="string"&&(t.style.cssText=o=""),o)for(e in o)n&&e in n||Me(t.style,e);if(n)for(e in n)o&&n[e]==o[e]||Me(t.style,e,n[e])}else if(e[0]=="o"&&e[1]=="n")typeof n!="function"&&(n=null),typeof o!="function"&&(o=null),(t.__e||(t.__e={}))[e]=n,n&&o||(r=ce[e]||(ce[e]=Pt(e)),(t.__a||(t.__a={}))[e]=de,s=e!=(e=e.replace(Ae,"$1")),(e=e.slice(2))[0]<"a"&&(e=e.toLowerCase()),n?t.addEventListener(e,r,s):t.removeEventListener(e,r,s));else{if(i=="http://www.w3.org/2000/svg")e=e.replace(/xlink(H|:h)/,"h").replace(/sName$/,"s");else if(e!="width"&&e!="height"&&e!="href"&&e!="list"&&e!="form"&&e!="tabIndex"&&e!="download"&&e!="rowSpan"&&e!="colSpan"&&e!="role"&&e!="popover"&&e in t)try{return void(t[e]=n??"")}catch{}if(typeof n=="function")return;n==null||n===!1&&e[4]!="-"?t.removeAttribute(e):t.setAttribute(e,e=="popover"&&n==1?"":n)}}function Pt(t){return function(e){var n=this.__e;if(n){if(n=n[t],e[ee]==null)e[ee]=de++;else if(e[ee]<this.__a[t])return;return n(b.event?b.event(e):e)}}}function he(t,e,n,o,i,s,r,a,c,d){var u,m,f,l,_,$,h,g,v,k,w,F,Ne,X,A,De,M,O,N=e.type;if(e.constructor!==G)return null;128&n.__u&&(c=32&n.__u,u=n.__c.__z)&&(e.__u|=c,m=s=[],u.nodeType==8?a=te(u,s):s.push(u),a=s[0]||a),(u=b.__b)&&u(e);e:if(typeof N=="function"){f=r.length;try{if(g=e.props,v=(u=N.prototype)&&u.render,k=(u=N.contextType)&&o[u.__c],w=u?k?k.props.value:u.__:o,(l=n.__c)?(e.__c=l,2&l.__g&&(l.__g|=1)):(v?e.__c=l=new N(g,w):(e.__c=l=new W(g,w),l.constructor=N,l.render=Rt),k&&k.sub(l),l.state||(l.state={}),l.__n=o,l.__g|=8,l.__h=[],l.__k=[]),v&&(l.__s||(l.__s=l.state),N.getDerivedStateFromProps&&(l.__s==l.state&&(l.__s=B({},l.__s)),B(l.__s,N.getDerivedStateFromProps(g,l.__s)))),_=l.props,$=l.state,l.__v=e,n.__c){if(g!==_&&v&&!N.getDerivedStateFromProps&&l.componentWillReceiveProps&&l.componentWillReceiveProps(g,w),e.__v==n.__v&&!(8&l.__g)||!(4&l.__g)&&l.shouldComponentUpdate&&l.shouldComponentUpdate(g,l.__s,w)===!1){e.__v!=n.__v&&(l.props=g,l.state=l.__s,l.__g&=-9),e.__e=n.__e,e.__k=n.__k,e.__k.some(function(P){P&&(P.__=e)}),se.push.apply(l.__h,l.__k),l.__k=[],l.__h.length&&r.push(l),a=H(n);break e}l.componentWillUpdate&&l.componentWillUpdate(g,l.__s,w),v&&l.componentDidUpdate&&l.__h.push(function(){l.componentDidUpdate(_,$,h)})}else v&&!N.getDerivedStateFromProps&&l.componentWillMount&&l.componentWillMount(),v&&l.componentDidMount&&l.__h.push(l.componentDidMount);l.context=w,l.props=g,l.__P=t,l.__g&=-5,F=b.__r,Ne=v?25:0;do l.__g&=-9,F&&F(e),u=l.render(l.props,l.state=l.__s,l.context);while(8&l.__g&&++Ne<25);v&&(se.push.apply(l.__h,l.__k),l.__k=[]),l.state=l.__s,l.getChildContext&&(o=B({},o,l.getChildContext())),v&&n.__c&&l.getSnapshotBeforeUpdate&&(h=l.getSnapshotBeforeUpdate(_,$)),X=u&&u.type===re&&u.key==null?u.props.children:u,g.__P&&(u=a,i=(t=g.__P).namespaceURI,c=s=null,n.props&&n.props.__P!=t&&(n.__k.some(function(P){P&&ge(P,P)}),n.__k=null),a=n.__k?H(n,0):null),a=Be(t,_e(X)?X:[X],e,n,o,i,s,r,a,c,d),g.__P&&(e.__e=null,a=u),e.__u&=-161,m&&m.some(U),l.__h.length&&r.push(l),1&l.__g&&(l.__g&=-4)}catch(P){if(r.length=f,e.__v=null,c||s)if(P&&P.then){if(e.__u|=128|c,s){for(~(M=s.indexOf(a||void 0))||(M=s.length);(O=s[M-1])&&O.nodeType==8;)M--;for(;M<s.length;M++)if(O=s[M])if(s[M]=null,A){if(O==De)break}else{if(O.nodeType!=8)break;O.data.startsWith("$s")&&(De=te(A=O))}}if(!A){for(;a&&a.nodeType==8&&a.nextSibling;)a=a.nextSibling;A=a}(u=te(A=e.__c.__z||(e.__c.__z=A)))?(e.__e=A,a=u):e.__e=a,a=a&&a.nextSibling}else s&&s.some(U);else e.__e=n.__e;e.__k||(e.__k=n.__k||[]),P&&P.then||Fe(e),b.__e(P,e,n)}}else a=e.__e=Et(n.__e,e,n,o,i,s,r,c,d,t);return(u=b.diffed)&&u(e),a}function te(t,e){if(t&&t.nodeType==8&&t.data.startsWith("$s"))for(var n=1;t=t.nextSibling;){if(t.nodeType==8){if(t.data.startsWith("$s"))n++;else if(t.data.startsWith("/$s")&&!--n)return t}e&&e.push(t)}}function Fe(t){t&&(t.__c&&(t.__c.__g|=4),t.__k&&t.__k.some(Fe))}function Ve(t,e,n){for(var o=0;o<n.length;)me(n[o++],n[o++],n[o++]);b.__c&&b.__c(e,t),t.some(function(i){try{t=i.__h,i.__h=[],t.some(function(s){s.call(i)})}catch(s){b.__e(s,i.__v)}})}function Et(t,e,n,o,i,s,r,a,c,d){var u,m,f,l,_,$,h,g,v=n.props||oe,k=e.props,w=e.type;if(w=="svg"?i="http://www.w3.org/2000/svg":w=="math"?i="http://www.w3.org/1998/Math/MathML":i||(i="http://www.w3.org/1999/xhtml"),s){for(u=0;u<s.length;u++)if((_=s[u])&&(w?_.localName==w:_.nodeType==3)){t=_,s[u]=null;break}}if(!t){if(g=d.ownerDocument||document,!w)return g.createTextNode(k);t=g.createElementNS(i,w,k.is?k:d),a&&(b.__m&&b.__m(e,s),a=!1),s=null}if(w){if(d=w=="template"&&t.content||t,s=w=="textarea"&&k.defaultValue!=null?null:s&&pe.call(d.childNodes),!a&&s)for(v={},u=0;u<t.attributes.length;u++)v[(_=t.attributes[u]).name]=_.value;for(u in v)_=v[u],u=="dangerouslySetInnerHTML"?f=_:u=="children"||u in k||u=="value"&&"defaultValue"in k||u=="checked"&&"defaultChecked"in k||Z(t,u,null,_,i);for(u in k)_=k[u],u=="children"?l=_:u=="dangerouslySetInnerHTML"?m=_:u=="value"?$=_:u=="checked"?h=_:a&&typeof _!="function"||v[u]===_||Z(t,u,_,v[u],i);m?(a||f&&(m.__html==f.__html||m.__html==t.innerHTML)||(t.innerHTML=m.__html),e.__k=[]):(f&&(t.textContent=""),(w=="foreignObject"||i=="http://www.w3.org/1998/Math/MathML"&&xt.test(w))&&(i="http://www.w3.org/1999/xhtml"),Be(d,_e(l)?l:[l],e,n,o,i,s,r,s?s[0]:n.__k&&H(n,0),a,c),s&&s.some(U)),a&&w!="textarea"||(u="value",w=="progress"&&$==null?t.removeAttribute(u):$==null||$===t[u]&&(w!="progress"||$)||Z(t,u,$,v[u],i),u="checked",h!=null&&h!=t[u]&&Z(t,u,h,v[u],i))}else v===k||a&&t.data==k||(t.data=k);return t}function me(t,e,n,o){try{typeof t=="function"?e?e.__x=t(e)||1:o&&(o=o.__c||o.__e)&&(e=o.__x)&&(o.__x=null,typeof e=="function"?e():t(null)):t.current=e}catch(i){b.__e(i,n)}}function ge(t,e,n){var o,i,s,r;if(b.unmount&&b.unmount(t),!(o=t.ref)||o.current&&o.current!=t.__e||me(o,null,e,t),o=t.__c){if(o.componentWillUnmount)try{o.componentWillUnmount()}catch(a){b.__e(a,e)}o.__P=o.__n=null}if(o=t.__k)for(r=0;r<o.length;r++)o[r]&&ge(o[r],e,typeof t.type!="function"||n&&!t.props.__P);!n&&(o=t.__c)&&(o=o.__z)&&(i=te(o,s=[]))&&(o==t.__e&&s.some(U),U(i),U(o)),n||U(t.__e),t.__e=t.__c=t.__=null}function Rt(t,e,n){return this.constructor(t,n)}function $e(t,e){var n,o,i,s;b.__&&b.__(t,e),e.nodeType==9&&(e=e.documentElement),o=(n=t&&32&t.__u)?null:e.__k,e.__k=j(re,{children:[t]}),i=[],s=[],he(e,e.__k,o||oe,oe,e.namespaceURI,o?null:e.firstChild?pe.call(e.childNodes):null,i,o?o.__e:e.firstChild,n,s),Ve(i,e.__k,s),e.__k.props.children=null}b={__e:function(t,e,n,o){for(var i,s,r;e=e.__;)if((i=e.__c)&&!(1&i.__g)){i.__g|=4;try{if((r=(s=i.constructor)&&s.getDerivedStateFromError)&&i.setState(s.getDerivedStateFromError(t)),i.componentDidCatch&&(i.componentDidCatch(t,o||{}),r=1),r&&8&i.__g)return void(i.__g|=2)}catch(a){t=a}}throw ne=0,t}},Ie=0,wt=function(t){return t!=null&&t.constructor===G},W.prototype.setState=function(t,e){var n=this.__s;n&&n!=this.state||(n=this.__s=B({},this.state)),typeof t=="function"&&(t=t(B({},n),this.props)),t&&(B(n,t),this.__v&&(e&&this.__k.push(e),Le(this)))},W.prototype.forceUpdate=function(t){this.__v&&(this.__g|=4,t&&this.__h.push(t),Le(this))},W.prototype.render=re,I=[],ne=0,He=function(t,e){return t.__v.__b-e.__v.__b},ee=Symbol(),Ae=/(PointerCapture)$|Capture$/i,de=0,ce={},kt=0;var We=function(t,e,n,o){var i;e[0]=0;for(var s=1;s<e.length;s++){var r=e[s++],a=e[s]?(e[0]|=r?1:2,n[e[s++]]):e[++s];r===3?o[0]=a:r===4?o[1]=Object.assign(o[1]||{},a):r===5?(o[1]=o[1]||{})[e[++s]]=a:r===6?o[1][e[++s]]+=a+"":r?(i=t.apply(a,We(t,a,n,["",null])),o.push(i),a[0]?e[0]|=2:(e[s-2]=0,e[s]=i)):o.push(a)}return o},je=new Map;function Ge(t){var e=je.get(this);return e||(e=new Map,je.set(this,e)),(e=We(this,e.get(t)||(e.set(t,e=(function(n){for(var o,i,s=1,r="",a="",c=[0],d=function(f){s===1&&(f||(r=r.replace(/^\s*\n\s*|\s*\n\s*$/g,"")))?c.push(0,f,r):s===3&&(f||r)?(c.push(3,f,r),s=2):s===2&&r==="..."&&f?c.push(4,f,0):s===2&&r&&!f?c.push(5,0,!0,r):s>=5&&((r||!f&&s===5)&&(c.push(s,0,r,i),s=6),f&&(c.push(s,f,0,i),s=6)),r=""},u=0;u<n.length;u++){u&&(s===1&&d(),d(u));for(var m=0;m<n[u].length;m++)o=n[u][m],s===1?o==="<"?(d(),c=[c],s=3):r+=o:s===4?r==="--"&&o===">"?(s=1,r=""):r=o+r[0]:a?o===a?a="":r+=o:o==='"'||o==="'"?a=o:o===">"?(d(),s=1):s&&(o==="="?(s=5,i=r,r=""):o==="/"&&(s<5||n[u][m+1]===">")?(d(),s===3&&(c=c[0]),s=c,(c=c[0]).push(2,0,s),s=0):o===" "||o==="	"||o===`
`||o==="\r"?(d(),s=2):r+=o),s===3&&r==="!--"&&(s=4,c=c[0])}return d(),c})(t)),e),arguments,[])).length>1?e:e[0]}var p=Ge.bind(fe);var z,S,ve,Je,ye=Object.is,ie=0,nt=[],be=[],x=b,ze=x.__b,Ke=x.__r,Qe=x.diffed,Ye=x.__c,Xe=x.unmount,Ze=x.__;function ke(t,e){x.__h&&x.__h(S,t,ie||e),ie=0;var n=S.__H||(S.__H={__:[],__h:[]});return t>=n.__.length&&n.__.push({}),n.__[t]}function y(t){return ie=1,Nt(rt,t)}function Nt(t,e,n){var o=ke(z++,2);if(o.t=t,!o.__c&&(o.__=[n?n(e):rt(void 0,e),function(s){var r=(o.__N||o.__)[0],a=o.t(r,s);ye(r,a)||(o.__N=[a,o.__[1]],o.__c.setState({}))}],o.__c=S,!S.__f)){S.__f=!0;var i=S.shouldComponentUpdate;S.shouldComponentUpdate=function(s,r,a){var c=this.__H;if(!c)return!0;var d=!1,u=this.props!=s;if(c.__.some(function(f){f.__N&&(d=!0,ye(f.__[0],f.__N[0])||(u=!0))}),i){var m=i.call(this,s,r,a);return d?m||u:m}return!d||u}}return o.__}function D(t,e){var n=ke(z++,3);!x.__s&&st(n.__H,e)&&(n.__P=!0,n.__=t,n.u=e,S.__H.__h.push(n))}function ot(t){return ie=5,Dt(function(){return{current:t}},[])}function Dt(t,e){var n=ke(z++,7);return st(n.__H,e)&&(n.__=t(),n.__H=e),n.__}function Lt(){var t;do{for(;t=be.shift();)try{J(t)}catch(n){x.__e(n,{__:(t=t.__P)&&t.__v})}for(;t=nt.shift();){var e=t.__H;if(t.__P&&e)try{e.__h.some(J),e.__h.some(we),e.__h=[]}catch(n){e.__h=[],x.__e(n,t.__v)}}}while(be.length)}x.__b=function(t){S=null,ze&&ze(t)},x.__=function(t,e){t&&e.__k&&e.__k.__m&&(t.__m=e.__k.__m),Ze&&Ze(t,e)},x.__r=function(t){Ke&&Ke(t),z=0;var e=(S=t.__c).__H;e&&(ve==S?S.__h=[]:(e.__h.some(J),e.__h.some(we),z=0),e.__h=[],e.__.some(function(n){n.__N&&(n.__=n.__N),n.u=n.__N=void 0})),ve=S},x.diffed=function(t){Qe&&Qe(t);var e=t.__c;e&&e.__H&&(e.__H.__h.length&&tt(nt.push(e)),e.__H.__.some(function(n){n.u&&(n.__H=n.u)})),ve=S=null},x.__c=function(t,e){e.some(function(n){try{n.__h.some(J),n.__h=n.__h.filter(function(o){return!o.__||we(o)})}catch(o){n.__h=[function(){throw o}]}}),Ye&&Ye(t,e)},x.unmount=function(t){Xe&&Xe(t);var e,n,o=t.__c;o&&o.__H&&(o.__H.__.some(function(i){try{if(i.__P&&i.__c){if(n===void 0){for(n=t.__;n&&(!n.__c||!n.__c.__P);)n=n.__;n=n&&n.__c}i.__P=n,tt(be.push(i))}else J(i)}catch(s){e=s}}),o.__H=void 0,e&&x.__e(e,o.__v))};var et=typeof requestAnimationFrame=="function";function Mt(t){var e,n=function(){clearTimeout(o),et&&cancelAnimationFrame(e),setTimeout(t)},o=setTimeout(n,35);et&&(e=requestAnimationFrame(n))}function tt(t){t!=1&&Je==x.requestAnimationFrame||((Je=x.requestAnimationFrame)||Mt)(Lt)}function J(t){var e=S,n=t.__c;typeof n=="function"&&(t.__c=void 0,n()),S=e}function we(t){var e=S;t.__c=t.__(),S=e}function st(t,e){return!t||t.length!=e.length||e.some(function(n,o){return!ye(n,t[o])})}function rt(t,e){return typeof e=="function"?e(t):e}var xe="datamesh.token";function Se(){let t=sessionStorage.getItem(xe);return t===null?null:{token:t}}function Te(t){t?sessionStorage.setItem(xe,t.token):sessionStorage.removeItem(xe)}var ae=class extends Error{code;status;details;constructor(e,n,o,i){super(o),this.status=e,this.code=n,this.details=i}};function it(t={}){let e=Se()?.token;return{accept:"application/json",...e?{authorization:`Bearer ${e}`}:{},...t}}async function at(t,e,n){let o=await fetch(e,{method:t,headers:it(n===void 0?{}:{"content-type":"application/json"}),...n===void 0?{}:{body:JSON.stringify(n)}}),i=await o.text(),s=i===""?null:JSON.parse(i);if(!o.ok){let r=s??{};throw new ae(o.status,r.code??`HTTP_${o.status}`,r.message??o.statusText,r.details??{})}return s}var le=t=>at("GET",t),K=(t,e)=>at("POST",t,e);async function lt(t,e,n,o,i){let s=await fetch(t,{headers:it({accept:"text/event-stream"}),signal:e});if(!s.ok||!s.body){let c=await s.json().catch(()=>({}));throw new ae(s.status,c.code??`HTTP_${s.status}`,c.message??s.statusText,{})}i===void 0&&o?.();let r=s.body.pipeThrough(new TextDecoderStream).getReader(),a="";try{for(;;){let{done:c,value:d}=await r.read();if(c)return;a+=d;let u;for(;(u=a.indexOf(`

`))>=0;){let m=a.slice(0,u);a=a.slice(u+2),i!==void 0&&m.split(`
`).includes(`: ${i}`)&&o?.();let f=It(m);f&&n(f)}}}catch(c){if(!e.aborted)throw c}}function It(t){let e,n="message",o=[];for(let i of t.split(`
`)){if(i===""||i.startsWith(":"))continue;let s=i.indexOf(":"),r=s<0?i:i.slice(0,s),a=s<0?"":i.slice(s+1).replace(/^ /,"");r==="id"?e=a:r==="event"?n=a:r==="data"&&o.push(a)}return o.length===0?null:{id:e,event:n,data:JSON.parse(o.join(`
`))}}var ut={source:0,table:1,topic:2,view:3};function ct(t,e){let n=new Map;for(let d of t)d.kind in ut&&n.set(d.id,ut[d.kind]);for(let d=0;d<t.length;d++){let u=!1;for(let m of e){let f=n.get(m.from),l=n.get(m.to);f!==void 0&&l!==void 0&&m.to.startsWith("view:")&&l<=f&&(n.set(m.to,f+1),u=!0)}if(!u)break}let o=Math.max(3,...n.values());for(let d of t)n.has(d.id)||n.set(d.id,o+1);let i=new Map,s=new Map;for(let d of t)s.set(n.get(d.id),[...s.get(n.get(d.id))??[],d]);let r=[],a=0;for(let d of[...s.keys()].sort((u,m)=>u-m)){let u=s.get(d),m=l=>{let _=e.filter($=>$.to===l.id&&i.has($.from)).map($=>i.get($.from));return _.length===0?1/0:_.reduce(($,h)=>$+h,0)/_.length},f=[...u].sort((l,_)=>m(l)-m(_)||l.name.localeCompare(_.name));f.forEach((l,_)=>{i.set(l.id,_),r.push({...l,x:10+d*260,y:30+_*62})}),a=Math.max(a,30+f.length*62)}let c=20+(Math.max(...n.values(),0)+1)*260;return{placed:r,width:c,height:a+10}}var Ht=new Set(["streaming","ready","Stable","running"]),At=new Set(["failed","Dead","stopped"]);function L({state:t}){let e=t??"unknown",n=Ht.has(e)?"good":At.has(e)?"bad":"busy";return p`<span class=${`badge ${n}`} data-state=${e}>${e}</span>`}function V({value:t}){if(t===null)return p`<span class="muted">—</span>`;let e=Math.max(0,Math.min(100,Math.round(t*100)));return p`<span class="progress" title=${`${e}%`}><span style=${`width:${e}%`}></span></span>
    <span class="muted">${e}%</span>`}function T({error:t}){if(!t)return null;let e=t;return p`<div class="error" role="alert">
    ${e.code?p`<strong>${e.code}</strong> `:null}${e.message??JSON.stringify(t)}
  </div>`}function C({title:t,children:e}){return p`<div class="heading">
    <h1>${t}</h1>
    <div class="actions">${e}</div>
  </div>`}function E(t,e=3e3){let[n,o]=y(null),[i,s]=y(null),[r,a]=y(0);return D(()=>{if(t===null)return;let c=!0,d=()=>{le(t).then(m=>{c&&(o(m),s(null))},m=>c&&s(m))};d();let u=e>0?setInterval(d,e):void 0;return()=>{c=!1,u&&clearInterval(u)}},[t,e,r]),{data:n,error:i,reload:()=>a(c=>c+1)}}function Ce(t){return t==null?"\u2014":t<1?`${Math.round(t*1e3)} ms`:t<120?`${t.toFixed(1)} s`:`${Math.round(t/60)} min`}function Pe(t){return t==null?"\u2014":t<1024?`${t} B`:t<1024*1024?`${(t/1024).toFixed(1)} KiB`:`${(t/1024/1024).toFixed(1)} MiB`}function q(t){return t==null?"\u2014":t.toLocaleString("en")}var R=t=>`#${t}`,Q=t=>JSON.stringify(t,null,2);var Ot=["Sources","Tables","Topics","Views"],Ut=new Set(["streaming","ready","Stable"]),Bt=new Set(["failed","Dead","stopped"]);function dt(){let{data:t,error:e}=E("/v1/lineage",5e3),[n,o]=y(!1),[i,s]=y(null),r=new Set((t?.nodes??[]).filter(_=>_.kind==="consumer-group"&&_.details.internal===!0&&!n).map(_=>_.id)),a=(t?.nodes??[]).filter(_=>!r.has(_.id)),c=(t?.edges??[]).filter(_=>!r.has(_.from)&&!r.has(_.to)),{placed:d,width:u,height:m}=ct(a,c),f=new Map(d.map(_=>[_.id,_])),l=d.find(_=>_.id===i)??null;return p`<section>
    <${C} title="Lineage">
      <label class="muted"
        ><input type="checkbox" checked=${n} onChange=${()=>o(!n)} /> datamesh's own
        groups</label
      >
    <//>
    <${T} error=${e} />
    ${(t?.problems??[]).map(_=>p`<div class="warning">${_}</div>`)}
    <div class="graph">
      <svg
        data-testid="lineage-graph"
        width=${u}
        height=${Math.max(m,120)}
        viewBox=${`0 0 ${u} ${Math.max(m,120)}`}
        role="img"
        aria-label="lineage graph"
      >
        ${Ot.map((_,$)=>p`<text class="column-title" x=${10+$*260} y="16">${_}</text>`)}
        <text class="column-title" x=${10+4*260} y="16">
          ${d.some(_=>_.x>10+3*260)?"Consumers":""}
        </text>
        ${c.map(_=>{let $=f.get(_.from),h=f.get(_.to);if(!$||!h)return null;let g=$.x+190,v=$.y+46/2,k=h.x,w=h.y+46/2,F=(g+k)/2;return p`<path
            class=${`edge ${_.kind}`}
            d=${`M${g},${v} C${F},${v} ${F},${w} ${k},${w}`}
          />`})}
        ${d.map(_=>p`<g
              class=${`node ${_.kind} ${Ut.has(_.state??"")?"good":Bt.has(_.state??"")?"bad":""}`}
              data-node=${_.id}
              transform=${`translate(${_.x},${_.y})`}
              onClick=${()=>s(_.id)}
            >
              <rect width=${190} height=${46} rx="6" />
              <text x="8" y="18" class="name"
                >${_.name.length>26?`${_.name.slice(0,25)}\u2026`:_.name}</text
              >
              <text x="8" y="36" class="sub"
                >${_.kind}${_.owner?` \xB7 ${_.owner}`:""}${_.state?` \xB7 ${_.state}`:""}</text
              >
            </g>`)}
      </svg>
    </div>
    ${t&&a.length===0?p`<p class="muted">Nothing registered yet.</p>`:null}
    ${l?p`<div class="panel">
            <h2>${l.kind} ${l.name}</h2>
            <p>Owner: ${l.owner??"\u2014"} · <${L} state=${l.state} /></p>
            <pre>${Q(l.details)}</pre>
          </div>`:null}
  </section>`}var _t=t=>t.progress?t.progress.rowsEstimated>0?t.progress.rowsDone/t.progress.rowsEstimated:0:null;function qt(t){return` ${t.phase} snapshot${t.table?` of ${t.table}`:""}: ${q(t.rowsDone)} of ~${q(t.rowsEstimated)} rows`}function pt(){let{data:t,error:e}=E("/v1/sources"),n=t?.sources??[];return p`<section>
    <${C} title="Sources"><a class="button" href=${R("/sources/new")}>Register a source</a><//>
    <${T} error=${e} />
    <table class="grid" data-testid="sources">
      <thead>
        <tr>
          <th>Name</th>
          <th>Owner</th>
          <th>Kind</th>
          <th>State</th>
          <th>Snapshot</th>
          <th>Lag</th>
          <th>Tables</th>
        </tr>
      </thead>
      <tbody>
        ${n.map(o=>p`<tr key=${o.name}>
              <td><a href=${R(`/sources/${encodeURIComponent(o.name)}`)}>${o.name}</a></td>
              <td>${o.owner}</td>
              <td>${o.kind}</td>
              <td><${L} state=${o.status.state} /></td>
              <td><${V} value=${_t(o.status)} /></td>
              <td>${Ce(o.status.lagSeconds)} · ${Pe(o.status.lagBytes)}</td>
              <td>${o.tables.join(", ")}</td>
            </tr>`)}
        ${t&&n.length===0?p`<tr>
                <td colspan="7" class="muted">No source yet: register one.</td>
              </tr>`:null}
      </tbody>
    </table>
  </section>`}function ft({name:t}){let{data:e,error:n}=E(`/v1/sources/${encodeURIComponent(t)}`);return p`<section>
    <${C} title=${`Source ${t}`} />
    <${T} error=${n} />
    ${e?p`<dl class="facts">
              <dt>Owner</dt>
              <dd>${e.owner}</dd>
              <dt>State</dt>
              <dd><${L} state=${e.status.state} /></dd>
              <dt>Kind</dt>
              <dd>${e.kind} · ${e.delivery}</dd>
              <dt>URL</dt>
              <dd><code>${e.url}</code></dd>
              <dt>Lag</dt>
              <dd>${Ce(e.status.lagSeconds)} · ${Pe(e.status.lagBytes)}</dd>
              <dt>Offset</dt>
              <dd><code>${e.status.offset??"\u2014"}</code></dd>
              <dt>Snapshot</dt>
              <dd>
                ${e.status.progress?p`<${V} value=${_t(e.status)} />
                        <span>${qt(e.status.progress)}</span>`:"none running"}
              </dd>
              <dt>Runs in</dt>
              <dd>${e.status.holder?.url??"\u2014"}</dd>
            </dl>
            <${T} error=${e.status.error} />
            <h2>Tables</h2>
            <table class="grid">
              <thead>
                <tr>
                  <th>Table</th>
                  <th>Topic</th>
                  <th>State</th>
                  <th>Events</th>
                </tr>
              </thead>
              <tbody>
                ${e.tables.map((o,i)=>{let s=e.topics[i]??`${e.name}.${o}`;return p`<tr key=${o}>
                    <td>${o}</td>
                    <td><a href=${R(`/topics/${encodeURIComponent(s)}`)}>${s}</a></td>
                    <td><${L} state=${e.status.tables[o]?.state??e.status.state} /></td>
                    <td>${q(e.status.events[o]??0)}</td>
                  </tr>`})}
              </tbody>
            </table>`:null}
  </section>`}function ht(){let[t,e]=y({name:"",owner:"",kind:"postgres",url:"",tables:"",snapshot:"initial",delivery:"at-least-once"}),[n,o]=y(null),[i,s]=y(!1),r=c=>d=>e({...t,[c]:d.target.value});return p`<section>
    <${C} title="Register a source" />
    <p class="muted">
      The service's database: its tables become topics <code>name.schema.table</code>. The API checks the
      database's settings first and answers each problem with the SQL that fixes it.
    </p>
    <form class="form" onSubmit=${async c=>{c.preventDefault(),s(!0),o(null);try{let d=t.tables.split(/[\s,]+/).filter(u=>u!=="");await K("/v1/sources",{...t,tables:d}),location.hash=R(`/sources/${encodeURIComponent(t.name)}`)}catch(d){o(d)}finally{s(!1)}}} data-testid="register-source">
      <label
        >Name <input name="name" required value=${t.name} onInput=${r("name")} placeholder="shipping"
      /></label>
      <label
        >Owner (service)
        <input name="owner" required value=${t.owner} onInput=${r("owner")} placeholder="shipping"
      /></label>
      <label
        >Kind
        <select name="kind" value=${t.kind} onChange=${r("kind")}>
          <option value="postgres">PostgreSQL</option>
          <option value="mysql">MySQL / MariaDB</option>
        </select></label
      >
      <label
        >URL
        <input
          name="url"
          required
          value=${t.url}
          onInput=${r("url")}
          placeholder="postgres://user:password@host:5432/db"
      /></label>
      <label
        >Tables
        <input
          name="tables"
          required
          value=${t.tables}
          onInput=${r("tables")}
          placeholder="public.shipments, public.carriers"
      /></label>
      <label
        >Snapshot
        <select name="snapshot" value=${t.snapshot} onChange=${r("snapshot")}>
          <option value="initial">initial: read the tables first</option>
          <option value="never">never: from now on</option>
        </select></label
      >
      <label
        >Delivery
        <select name="delivery" value=${t.delivery} onChange=${r("delivery")}>
          <option value="at-least-once">at-least-once</option>
          <option value="exactly-once">exactly-once</option>
        </select></label
      >
      <${T} error=${n} />
      <button type="submit" disabled=${i}>${i?"Registering\u2026":"Register"}</button>
    </form>
  </section>`}function mt(t,e){let n=t.split(`
`),o=e.split(`
`),i=Array.from({length:n.length+1},()=>new Array(o.length+1).fill(0));for(let c=n.length-1;c>=0;c--)for(let d=o.length-1;d>=0;d--)i[c][d]=n[c]===o[d]?i[c+1][d+1]+1:Math.max(i[c+1][d],i[c][d+1]);let s=[],r=0,a=0;for(;r<n.length&&a<o.length;)n[r]===o[a]?(s.push({op:" ",text:n[r]}),r++,a++):i[r+1][a]>=i[r][a+1]?s.push({op:"-",text:n[r++]}):s.push({op:"+",text:o[a++]});for(;r<n.length;)s.push({op:"-",text:n[r++]});for(;a<o.length;)s.push({op:"+",text:o[a++]});return s}function gt(){let{data:t,error:e}=E("/v1/topics",5e3);return p`<section>
    <${C} title="Topics" />
    <${T} error=${e} />
    <table class="grid" data-testid="topics">
      <thead>
        <tr>
          <th>Topic</th>
          <th>Owner</th>
          <th>Source</th>
          <th>Partitions</th>
          <th>Schema version</th>
        </tr>
      </thead>
      <tbody>
        ${(t?.topics??[]).map(n=>p`<tr key=${n.topic}>
              <td><a href=${R(`/topics/${encodeURIComponent(n.topic)}`)}>${n.topic}</a></td>
              <td>${n.owner}</td>
              <td>${n.source}</td>
              <td>${n.partitions}</td>
              <td>${n.latestVersion??"\u2014"}</td>
            </tr>`)}
      </tbody>
    </table>
  </section>`}function Ft({topic:t}){let{data:e,error:n}=E(`/v1/topics/${encodeURIComponent(t)}/schemas`,0),o=e?.versions??[],[i,s]=y(null),[r,a]=y(null),c=o.find(f=>f.version===i)??o.at(-2)??o.at(-1),d=o.find(f=>f.version===r)??o.at(-1),u=f=>l=>f(Number(l.target.value)),m=f=>o.map(l=>p`<option value=${l.version} selected=${l.version===f}>
          version ${l.version} (id ${l.id})
        </option>`);return p`<div>
    <h2>Schema versions</h2>
    <${T} error=${n} />
    ${o.length===0?p`<p class="muted">No schema registered yet (the first event registers it).</p>`:p`<div class="row">
              <label
                >From
                <select onChange=${u(s)}>
                  ${m(c?.version)}
                </select></label
              >
              <label
                >To
                <select onChange=${u(a)}>
                  ${m(d?.version)}
                </select></label
              >
            </div>
            <pre class="diff" data-testid="schema-diff">
${mt(Q(c?.schema),Q(d?.schema)).map(f=>p`<div class=${f.op==="+"?"add":f.op==="-"?"del":""}>
                    ${f.op} ${f.text}
                  </div>`)}</pre>`}
  </div>`}function Re({path:t,render:e,readyComment:n}){let[o,i]=y([]),[s,r]=y("connecting"),[a,c]=y(null);return D(()=>{let d=new AbortController;return i([]),lt(t,d.signal,u=>{u.event==="error"?c(u.data):u.event==="change"&&i(m=>[{id:u.id??"",data:u.data},...m].slice(0,50))},()=>r("live"),n).then(()=>r("ended"),u=>{d.signal.aborted||(c(u),r("failed"))}),()=>d.abort()},[t]),p`<div class="tail" data-testid="live-tail" data-state=${s}>
    <p class="muted">${s==="live"?"Live: new changes appear at the top.":s}</p>
    <${T} error=${a} />
    <ol class="events">
      ${o.map(d=>p`<li key=${d.id}>${e(d.data)}</li>`)}
    </ol>
  </div>`}var Vt={r:"read",c:"insert",u:"update",d:"delete",t:"truncate"};function $t({topic:t}){return p`<section>
    <${C} title=${`Topic ${t}`} />
    <${Ft} topic=${t} />
    <h2>Live tail</h2>
    <${Re}
      path=${`/v1/topics/${encodeURIComponent(t)}/events?from=latest`}
      readyComment="subscribed"
      render=${e=>{let n=e,o=n.value?.op??"tombstone";return p`<span class="op">${Vt[o]??o}</span> <code>${n.partition}:${n.offset}</code> key
          <code>${JSON.stringify(n.key)}</code>
          <code class="after">${JSON.stringify(n.value?.after??n.value?.before??null)}</code>`}}
    />
  </section>`}function vt(){let{data:t,error:e}=E("/v1/views");return p`<section>
    <${C} title="Views"><a class="button" href=${R("/views/new")}>Declare a view</a><//>
    <${T} error=${e} />
    <table class="grid" data-testid="views">
      <thead>
        <tr>
          <th>View</th>
          <th>State</th>
          <th>Backfill</th>
          <th>Rows</th>
          <th>Lag</th>
          <th>Parked</th>
        </tr>
      </thead>
      <tbody>
        ${(t?.views??[]).map(n=>p`<tr key=${n.name}>
              <td><a href=${R(`/views/${encodeURIComponent(n.name)}`)}>${n.name}</a></td>
              <td><${L} state=${n.status.state} /></td>
              <td><${V} value=${n.status.progress} /></td>
              <td>${q(n.status.rows)}</td>
              <td>${n.status.lagMs===null?"\u2014":`${n.status.lagMs} ms`}</td>
              <td>${n.status.parkedCount}</td>
            </tr>`)}
      </tbody>
    </table>
  </section>`}function jt({view:t}){let[e,n]=y([]),[o,i]=y({column:t.columns[0]??"",op:"eq",value:""}),[s,r]=y(10),[a,c]=y([]),[d,u]=y(null),[m,f]=y(null),l=a.at(-1);D(()=>{let h=new URLSearchParams;for(let g of e)h.append(g.op==="eq"?g.column:`${g.column}[${g.op}]`,g.value);h.set("limit",String(s)),l&&h.set("cursor",l),le(`/v1/views/${encodeURIComponent(t.name)}/rows?${h}`).then(g=>{u(g),f(null)},f)},[t.name,t.status.state,t.status.rows,e,s,l]);let _=h=>{h.preventDefault(),n([...e,o]),c([])},$=h=>g=>i({...o,[h]:g.target.value});return p`<div data-testid="row-browser">
    <form class="row" onSubmit=${_}>
      <select aria-label="column" onChange=${$("column")}>
        ${t.columns.map(h=>p`<option value=${h} selected=${h===o.column}>${h}</option>`)}
      </select>
      <select aria-label="operator" onChange=${$("op")}>
        ${["eq","gt","gte","lt","lte"].map(h=>p`<option value=${h} selected=${h===o.op}>${h}</option>`)}
      </select>
      <input aria-label="value" value=${o.value} onInput=${$("value")} placeholder="value" />
      <button type="submit">Add filter</button>
      <label
        >Rows per page
        <select
          aria-label="page size"
          onChange=${h=>{r(Number(h.target.value)),c([])}}
        >
          ${[10,25,100].map(h=>p`<option value=${h} selected=${h===s}>${h}</option>`)}
        </select></label
      >
    </form>
    <div class="chips">
      ${e.map((h,g)=>p`<span class="chip"
            >${h.column} ${h.op} ${h.value}
            <button
              aria-label="remove filter"
              onClick=${()=>{n(e.filter((v,k)=>k!==g)),c([])}}
            >
              ×
            </button></span
          >`)}
    </div>
    <${T} error=${m} />
    <table class="grid rows">
      <thead>
        <tr>
          ${t.columns.map(h=>p`<th>${h}${t.key.includes(h)?p` <span class="muted">(key)</span>`:null}</th>`)}
        </tr>
      </thead>
      <tbody>
        ${(d?.rows??[]).map(h=>p`<tr>
              ${t.columns.map(g=>p`<td>${h[g]===null||h[g]===void 0?p`<span class="muted">null</span>`:Jt(h[g])}</td>`)}
            </tr>`)}
      </tbody>
    </table>
    <div class="row pager">
      <button disabled=${a.length===0} onClick=${()=>c(a.slice(0,-1))}>
        Previous
      </button>
      <span class="muted" data-testid="page-number">page ${a.length+1}</span>
      <button disabled=${!d?.next} onClick=${()=>d?.next&&c([...a,d.next])}>
        Next
      </button>
    </div>
  </div>`}var Wt={insert:"insert",update:"update",delete:"delete"};function yt({name:t}){let{data:e,error:n}=E(`/v1/views/${encodeURIComponent(t)}`);return p`<section>
    <${C} title=${`View ${t}`} />
    <${T} error=${n} />
    ${e?p`<dl class="facts">
              <dt>State</dt>
              <dd><${L} state=${e.status.state} /> <${V} value=${e.status.progress} /></dd>
              <dt>Rows</dt>
              <dd>${q(e.status.rows)}</dd>
              <dt>Lag</dt>
              <dd>${e.status.lagMs??"\u2014"} ms</dd>
              <dt>Parked</dt>
              <dd>${e.status.parkedCount}</dd>
              <dt>Key</dt>
              <dd>${e.key.join(", ")}</dd>
            </dl>
            ${e.status.error?p`<div class="error">${e.status.error}</div>`:null}
            <pre class="sql">${e.sql}</pre>
            <h2>Rows</h2>
            ${e.status.state==="ready"?p`<${jt} view=${e} />`:p`<p class="muted">Rows are shown once the view is ready (${e.status.state}).</p>`}
            <h2>Changes</h2>
            <${Re}
              path=${`/v1/views/${encodeURIComponent(t)}/changes?from=latest`}
              render=${o=>{let i=o;return p`<span class="op">${Wt[i.op]??i.op}</span> key
                  <code>${JSON.stringify(i.key)}</code>
                  <code class="after">${JSON.stringify(i.after??i.before)}</code>`}}
            />`:null}
  </section>`}function Gt({sql:t,check:e}){if(!e)return null;if(e.ok)return p`<p class="ok" data-testid="sql-check">
      ✓
      compiles${e.tables?.length?`: reads ${e.tables.join(", ")}`:""}${e.waitingFor?.length?` (will wait for ${e.waitingFor.join(", ")})`:""}
    </p>`;let n=e.error,o=n.line!==null?t.split(`
`)[n.line-1]:void 0;return p`<div class="error" data-testid="sql-check" role="alert">
    <strong>${n.code}</strong>${n.line!==null?` at line ${n.line}, column ${n.column}`:""}: ${n.message}
    ${o!==void 0&&n.column!==null?p`<pre class="caret">
${o}
${" ".repeat(Math.max(0,n.column-1))}^</pre>`:null}
  </div>`}function bt(){let[t,e]=y("CREATE VIEW my_view AS SELECT "),[n,o]=y(null),[i,s]=y(null),[r,a]=y(!1),c=ot(0);return D(()=>{let u=++c.current,m=setTimeout(()=>{K("/v1/views/check",{sql:t}).then(f=>u===c.current&&o(f),f=>u===c.current&&s(f))},250);return()=>clearTimeout(m)},[t]),p`<section>
    <${C} title="Declare a view" />
    <p class="muted">
      A SQL join over the topics (<code>source.schema.table</code>), kept up to date as they change.
    </p>
    <form class="form" onSubmit=${async u=>{u.preventDefault(),a(!0),s(null);try{let m=await K("/v1/views",{sql:t});location.hash=R(`/views/${encodeURIComponent(m.name)}`)}catch(m){s(m)}finally{a(!1)}}} data-testid="declare-view">
      <textarea
        name="sql"
        rows="8"
        spellcheck="false"
        value=${t}
        onInput=${u=>e(u.target.value)}
      ></textarea>
      <${Gt} sql=${t} check=${n} />
      <${T} error=${i} />
      <button type="submit" disabled=${r||n?.ok===!1}>
        ${r?"Declaring\u2026":"Declare"}
      </button>
    </form>
  </section>`}var Jt=t=>typeof t=="string"?t:JSON.stringify(t);var zt=!1;function Kt(){let[t,e]=y(location.hash);return D(()=>{let n=()=>e(location.hash);return addEventListener("hashchange",n),()=>removeEventListener("hashchange",n)},[]),t.replace(/^#/,"")||"/sources"}function Qt({onSignIn:t}){let[e,n]=y("");return p`<main class="signin">
    <form
      class="form"
      data-testid="sign-in"
      onSubmit=${o=>{o.preventDefault(),t({token:e.trim()})}}
    >
      <h1>datamesh</h1>
      <p class="muted">
        Sign in with your service's API token. Tokens are required once governance is enabled; until then you
        may continue without one.
      </p>
      <label
        >Token
        <input
          name="token"
          type="password"
          autocomplete="off"
          value=${e}
          onInput=${o=>n(o.target.value)}
      /></label>
      <button type="submit">Sign in</button>
    </form>
  </main>`}function Yt(){return p`<section>
    <h1>Audit</h1>
    <p class="muted">Who changed what (sources, views, tokens) arrives with governance (issue 14).</p>
  </section>`}function Xt({path:t}){let[,e,n]=/^\/([^/]*)\/?(.*)$/.exec(t)??[],o=n?decodeURIComponent(n):"";switch(e){case"sources":return o==="new"?p`<${ht} />`:o?p`<${ft} name=${o} />`:p`<${pt} />`;case"topics":return o?p`<${$t} topic=${o} />`:p`<${gt} />`;case"views":return o==="new"?p`<${bt} />`:o?p`<${yt} name=${o} />`:p`<${vt} />`;case"lineage":return p`<${dt} />`;case"audit":return p`<${Yt} />`;default:return p`<section>
        <h1>Not found</h1>
        <p>No page ${t}.</p>
      </section>`}}function Zt(){let[t,e]=y(Se()),n=Kt();if(!t)return p`<${Qt}
      onSignIn=${s=>{Te(s),e(s)}}
    />`;let o=n.split("/")[1]??"",i=[["sources","Sources"],["topics","Topics"],["views","Views"],["lineage","Lineage"],...zt?[["audit","Audit"]]:[]];return p`<div class="app">
    <header>
      <a class="brand" href="#/sources">datamesh</a>
      <nav>
        ${i.map(([s,r])=>p`<a href=${`#/${s}`} class=${o===s?"active":""}>${r}</a>`)}
      </nav>
      <span class="who">${t.token?"signed in with a token":"signed in without a token"}</span>
      <button
        class="link"
        onClick=${()=>{Te(null),e(null)}}
      >
        Sign out
      </button>
    </header>
    <main><${Xt} path=${n} /></main>
  </div>`}$e(p`<${Zt} />`,document.getElementById("app"));
